"""Copy a registry's history into another: how a team moves one person's SQLite history into
the shared PostgreSQL registry (``ftx runs migrate --to postgresql://...``).

Runs keep their ids, times, statuses and everything recorded; their events follow them, in
order. Copying again copies nothing twice: runs the target already holds (same id) are
skipped, and so is a run whose idempotency key the target already gives to another run (the
same launch recorded twice: the target's record wins, and the skip is reported).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

_EVENT_COLUMNS = ("run_id", "time", "level", "message")


@dataclass
class CopyReport:
    copied: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # "RUN: reason"
    events: int = 0


def copy_registry(source: Any, target: Any) -> CopyReport:
    """Copy every run of ``source`` (a :class:`~ftx.registry.Registry`) missing from ``target``."""
    report = CopyReport()
    existing = {row["id"] for row in target._query("SELECT id FROM runs")}
    keys = {row["client_key"]: row["id"] for row in target._query(
        "SELECT id, client_key FROM runs WHERE client_key IS NOT NULL")}
    columns = [c for c in _columns(target) if c in set(_columns(source))]
    rows = source._query("SELECT * FROM runs ORDER BY created_at, id")
    for row in rows:
        run_id = row["id"]
        if run_id in existing:
            report.already.append(run_id)
            continue
        key = row["client_key"]
        if key and key in keys:
            report.conflicts.append(f"{run_id}: its client key is run {keys[key]}'s in the target")
            continue
        events = source._query("SELECT * FROM events WHERE run_id = ? ORDER BY id", (run_id,))
        with target._write() as conn:
            marks = ", ".join("?" for _ in columns)
            conn.execute(f"INSERT INTO runs ({', '.join(columns)}) VALUES ({marks})",
                         tuple(row[c] for c in columns))
            for event in events:
                conn.execute(f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) VALUES (?, ?, ?, ?)",
                             tuple(event[c] for c in _EVENT_COLUMNS))
        report.copied.append(run_id)
        report.events += len(events)
        if key:
            keys[key] = run_id
    return report


def _columns(registry: Any) -> list[str]:
    if registry.kind == "postgresql":
        rows = registry._query("SELECT column_name AS name FROM information_schema.columns "
                               "WHERE table_name = 'runs' AND table_schema = current_schema() ORDER BY ordinal_position")
    else:
        rows = registry._query("SELECT name FROM pragma_table_info('runs')")
    return [r["name"] for r in rows]
