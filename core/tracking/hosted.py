"""Hosted runs in the trackers: ftx streams the job's metrics while it follows the job (``ftx
run``, ``ftx jobs wait``, a reattach), then logs the finished job's full series from
``metrics.jsonl`` and the common end-of-run record.

Each (metric, step) is logged once: the last step logged per metric is kept in the registry
(:class:`ftx.tracking.Tracking`), so a detach and a reattach, or two followers, never repeat a
point, and the tracker shows exactly the series ``metrics.jsonl`` holds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .session import Tracking, spec_of


class HostedStream:
    """The trackers of one followed hosted run; without a ``tracking:`` section it does nothing
    (and imports nothing)."""

    def __init__(self, tracking: Tracking | None):
        self.tracking = tracking

    @classmethod
    def open(cls, session: Any) -> "HostedStream":
        run = session.registry.get_run(session.run_id)
        spec = spec_of(run.recipe_snapshot)
        if spec is None or not spec.enabled():
            return cls(None)
        return cls(Tracking.open(spec, session.registry, run.id))

    def events(self, events: list[Any]) -> None:
        """Log the training progress in a poll's new events (in step order)."""
        if self.tracking:
            rows = [e.metrics for e in events if e.metrics and isinstance(e.metrics.get("step"), int)]
            self.tracking.log_rows(sorted(rows, key=lambda r: r["step"]))

    def finish(self, outcome: Any) -> None:
        """The finished job: the rest of its series (from metrics.jsonl), then the end-of-run record."""
        if not self.tracking:
            return
        if outcome.metrics_file and Path(outcome.metrics_file).is_file():
            rows = [json.loads(line) for line in Path(outcome.metrics_file).read_text(encoding="utf-8").splitlines()
                    if line.strip()]
            self.tracking.log_rows(rows)
        self.tracking.finish(outcome.status)

    def detach(self) -> None:
        if self.tracking:
            self.tracking.close()
