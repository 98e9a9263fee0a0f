"""Where the registry lives and how it is opened.

SQLite (the embedded default: WAL, busy timeout, foreign keys) or PostgreSQL (a team's shared
history: ``FTX_REGISTRY=postgresql://...``, see :mod:`.postgres`). Both are reached through a
connection with the sqlite3 shape (``execute(sql, params)`` with ``?`` marks, rows read by column
name) and a :class:`Dialect` naming the few statements that differ.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RegistryError
from ..home import ftx_home
from .migrations import check_not_newer, migrate, schema_version

#: Seconds a writer waits for another process (a training rank, a watcher) to release the lock.
BUSY_TIMEOUT_S = 30.0
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True)
class Dialect:
    """What differs between the databases the registry runs on."""

    name: str
    begin: str  # opens a write transaction
    for_update: str  # appended to a SELECT that is followed by a write of the same row
    tiebreak: str  # orders runs created in the same millisecond
    error: tuple[type[BaseException], ...]
    integrity_error: tuple[type[BaseException], ...]

    def json_text(self, column: str, key: str) -> str:
        """SQL for the text value of ``key`` in a JSON column (keys are ftx's own, never user input)."""
        if not key.isidentifier():
            raise ValueError(f"not a JSON key ftx writes: {key!r}")
        if self.name == "postgresql":
            return f"(({column})::jsonb ->> '{key}')"
        return f"json_extract({column}, '$.{key}')"


SQLITE = Dialect("sqlite", "BEGIN IMMEDIATE", "", "rowid", (sqlite3.Error,), (sqlite3.IntegrityError,))


def is_postgres(location: str | os.PathLike[str] | None) -> bool:
    return isinstance(location, str) and location.lower().startswith(POSTGRES_SCHEMES)


def registry_location() -> str | Path:
    """``$FTX_REGISTRY`` (a file path or a ``postgresql://`` URL) if set, else ``ftx_home()/registry.db``."""
    override = os.environ.get("FTX_REGISTRY")
    if override and is_postgres(override.strip()):
        return override.strip()
    return registry_path()


def registry_path() -> Path:
    """The SQLite file: ``$FTX_REGISTRY`` if set (and not a PostgreSQL URL), else ``ftx_home()/registry.db``."""
    override = os.environ.get("FTX_REGISTRY")
    if override and not is_postgres(override.strip()):
        return Path(override).expanduser()
    return ftx_home() / "registry.db"


def _create_private(path: Path) -> None:
    """Create the registry file readable by its owner only (SQLite gives its -wal and -shm
    files the same mode); an existing file keeps its mode."""
    if str(path) == ":memory:" or path.exists():
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError:
        pass  # sqlite3 reports what is wrong with the path


def open_database(location: str | Path) -> tuple[Any, Dialect, str]:
    """(connection, dialect, a name for messages: the file, or the URL without its password)."""
    if is_postgres(location):
        from .postgres import connect_postgres, display_url

        conn, dialect = connect_postgres(str(location))
        return conn, dialect, display_url(str(location))
    path = Path(location).expanduser()
    return connect(path), SQLITE, str(path)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the registry at ``path``.

    The connection is in autocommit mode; callers group writes with ``BEGIN IMMEDIATE``.
    A database from a newer ftx raises :class:`RegistryError` before anything is written to it.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RegistryError(f"cannot create the registry directory: {exc.strerror}", file=str(path.parent)) from exc
    _create_private(path)
    conn = None
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        # Version first: a newer ftx's file must not even have its journal mode changed.
        check_not_newer(schema_version(conn), str(path))
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # NORMAL is durable across application crashes in WAL mode and much faster than FULL.
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn, str(path))
        return conn
    except RegistryError:
        if conn is not None:
            conn.close()
        raise
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise RegistryError(f"cannot open the run registry: {exc}", file=str(path)) from exc
