"""What the registry hands back: :class:`Run` and :class:`Event`, with JSON columns parsed."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

STATUSES: tuple[str, ...] = (
    "planned", "uploading", "queued", "running", "succeeded", "failed", "cancelled", "interrupted",
)
#: A run in one of these has stopped; reaching one stamps ``finished_at``.
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled", "interrupted"})
#: Reaching one of these stamps ``started_at`` (the run is consuming compute).
STARTED_STATUSES = frozenset({"running"})

LEVELS: tuple[str, ...] = ("debug", "info", "warning", "error")

#: Columns stored as JSON text, with the empty value a missing one reads as.
JSON_FIELDS: dict[str, Any] = {
    "recipe_snapshot": dict, "data_hashes": dict, "metrics": dict, "artifacts": dict, "extra": dict,
}
TIME_FIELDS = ("created_at", "started_at", "finished_at", "updated_at")
COST_FIELDS = ("estimated_cost_usd", "actual_cost_usd")


def utc_now() -> str:
    """Now as ISO-8601 UTC with milliseconds, e.g. ``2026-11-23T07:15:30.123Z`` (sorts as text)."""
    return format_time(datetime.now(timezone.utc))


def format_time(moment: datetime) -> str:
    """A datetime as the registry's ISO-8601 UTC text (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str | None) -> datetime | None:
    """The registry's time text back to an aware datetime (``None`` stays ``None``)."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass
class Run:
    """One row of the ``runs`` table. JSON columns are parsed dicts; times are ISO-8601 UTC text."""

    id: str
    name: str
    backend: str
    status: str
    recipe_hash: str
    created_at: str
    recipe_snapshot: dict[str, Any] = field(default_factory=dict)
    data_hashes: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    remote_job_id: str | None = None
    client_key: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    updated_at: str | None = None
    estimated_cost_usd: float | None = None
    actual_cost_usd: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    output_dir: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Run":
        values = {key: row[key] for key in row.keys() if key in _RUN_FIELDS}
        for name in JSON_FIELDS:
            if name in values:
                values[name] = json.loads(values[name]) if values[name] else {}
        return cls(**values)

    @property
    def is_finished(self) -> bool:
        """Whether the run has stopped (succeeded, failed, cancelled or interrupted)."""
        return self.status in TERMINAL_STATUSES

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to finish (or to now while running); ``None`` before it started."""
        start = parse_time(self.started_at)
        if start is None:
            return None
        end = parse_time(self.finished_at) or datetime.now(timezone.utc)
        return max(0.0, (end - start).total_seconds())

    def cost_difference(self) -> tuple[float, float | None] | None:
        """``(actual - estimated, percent of estimate)`` when both costs are known, else ``None``.

        The percentage is ``None`` when the estimate was zero (any difference is infinite).
        """
        if self.estimated_cost_usd is None or self.actual_cost_usd is None:
            return None
        diff = self.actual_cost_usd - self.estimated_cost_usd
        pct = diff / self.estimated_cost_usd * 100 if self.estimated_cost_usd else None
        return diff, pct

    def to_dict(self) -> dict[str, Any]:
        """All fields as plain JSON-ready values."""
        return asdict(self)


_RUN_FIELDS = frozenset(Run.__dataclass_fields__)


@dataclass(frozen=True)
class Event:
    """One line of a run's history: a log line, a health warning, a status note."""

    id: int
    run_id: str
    time: str
    level: str
    message: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> "Event":
        return cls(id=row["id"], run_id=row["run_id"], time=row["time"], level=row["level"],
                   message=row["message"])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
