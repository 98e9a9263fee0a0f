"""The run registry: every run ftx starts, on any backend, recorded in one SQLite file (the
default) or a team's PostgreSQL database (``FTX_REGISTRY=postgresql://...``).

    from ftx.registry import Registry
    with Registry() as reg:
        run = reg.create_run("demo", "local", recipe_snapshot, recipe_hash)
        reg.update_run(run.id, status="running")
"""

from __future__ import annotations

from .db import registry_location, registry_path
from .migrations import LATEST_VERSION, MIGRATIONS, Migration
from .models import LEVELS, STATUSES, TERMINAL_STATUSES, Event, Run
from .store import UPDATABLE_FIELDS, Registry, new_run_id

__all__ = [
    "Registry", "Run", "Event", "STATUSES", "TERMINAL_STATUSES", "LEVELS", "UPDATABLE_FIELDS",
    "MIGRATIONS", "LATEST_VERSION", "Migration", "registry_path", "registry_location", "new_run_id",
]
