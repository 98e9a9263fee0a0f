"""Schema migrations of the registry, keyed by ``PRAGMA user_version``.

Migrations are append-only: never edit one that has shipped, add the next instead. All
pending migrations run in one ``BEGIN IMMEDIATE`` transaction, so a crash (or a second process
opening the registry at the same moment) never leaves a half-migrated database: the other
process waits on the lock, re-reads the version and finds nothing left to do.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..errors import RegistryError


@dataclass(frozen=True)
class Migration:
    """Statements that take the schema from ``version - 1`` to ``version``."""

    version: int
    description: str
    statements: tuple[str, ...]


# Status is validated in Python rather than by a CHECK constraint: SQLite cannot alter a CHECK
# without rebuilding the table, and a later ftx may well add a status.
_V1_RUNS = """
CREATE TABLE runs (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    recipe_snapshot    TEXT NOT NULL DEFAULT '{}',
    recipe_hash        TEXT NOT NULL,
    data_hashes        TEXT NOT NULL DEFAULT '{}',
    backend            TEXT NOT NULL,
    model              TEXT,
    remote_job_id      TEXT,
    client_key         TEXT UNIQUE,
    status             TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    started_at         TEXT,
    finished_at        TEXT,
    estimated_cost_usd REAL,
    actual_cost_usd    REAL,
    metrics            TEXT NOT NULL DEFAULT '{}',
    artifacts          TEXT NOT NULL DEFAULT '{}',
    output_dir         TEXT,
    error              TEXT,
    extra              TEXT NOT NULL DEFAULT '{}'
)
"""

_V2_EVENTS = """
CREATE TABLE events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    time    TEXT NOT NULL,
    level   TEXT NOT NULL,
    message TEXT NOT NULL
)
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs table", (_V1_RUNS,)),
    Migration(2, "events table, updated_at, indexes for listing and filtering", (
        _V2_EVENTS,
        # Tailing a run's log reads "events of run X after id N".
        "CREATE INDEX events_run ON events(run_id, id)",
        "CREATE INDEX runs_status ON runs(status)",
        "CREATE INDEX runs_backend ON runs(backend)",
        "CREATE INDEX runs_created_at ON runs(created_at)",
        # A watcher polls "what changed since T"; existing rows changed last when they last moved.
        "ALTER TABLE runs ADD COLUMN updated_at TEXT",
        "UPDATE runs SET updated_at = COALESCE(finished_at, started_at, created_at)",
    )),
    Migration(3, "index for finding a run by its provider's job id", (
        # `ftx jobs status ftjob-...` looks a run up by the provider's id.
        "CREATE INDEX runs_remote_job ON runs(remote_job_id)",
    )),
)

LATEST_VERSION = MIGRATIONS[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's ``PRAGMA user_version`` (0 for a new, empty file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_not_newer(version: int, path: str, latest: int = LATEST_VERSION) -> None:
    """Refuse a database written by a newer ftx: we cannot know what its columns mean."""
    if version > latest:
        raise RegistryError(
            f"registry schema version {version} is newer than this ftx understands (up to {latest}); "
            "upgrade ftx or point FTX_REGISTRY at another file",
            file=path,
        )


def migrate(conn: sqlite3.Connection, path: str = "registry",
            migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply every migration above the current version in one transaction; return the new version.

    ``conn`` must be in autocommit mode (``isolation_level=None``) so that the explicit
    transaction here is the only one.
    """
    def apply(migration: Migration) -> None:
        for statement in migration.statements:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {int(migration.version)}")

    return run_migrations(conn, path, migrations, version=schema_version,
                          begin=lambda: conn.execute("BEGIN IMMEDIATE"), apply=apply)


def run_migrations(conn: Any, where: str, migrations: Sequence[Migration], *, version: Callable[[Any], int],
                   begin: Callable[[], Any], apply: Callable[[Migration], None]) -> int:
    """The migration loop every registry database shares: refuse a newer schema, then in one
    transaction (``begin`` opens it and takes the write lock) re-read ``version``, since another
    process may have migrated meanwhile, and ``apply`` each pending migration; roll back on any error."""
    _check_ordered(migrations)
    latest = migrations[-1].version if migrations else 0
    check_not_newer(version(conn), where, latest)
    if version(conn) == latest:
        return latest
    try:
        begin()
        current = version(conn)
        check_not_newer(current, where, latest)
        for migration in migrations:
            if migration.version > current:
                apply(migration)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return latest


def _check_ordered(migrations: Sequence[Migration]) -> None:
    expected = list(range(1, len(migrations) + 1))
    if [m.version for m in migrations] != expected:
        raise ValueError(f"migrations must be numbered 1..{len(migrations)} in order")
