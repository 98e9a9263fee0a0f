"""Where the registry lives and how it is opened (WAL, busy timeout, foreign keys, migrations)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ..errors import RegistryError
from ..home import ftx_home
from .migrations import check_not_newer, migrate, schema_version

#: Seconds a writer waits for another process (a training rank, a watcher) to release the lock.
BUSY_TIMEOUT_S = 30.0


def registry_path() -> Path:
    """``$FTX_REGISTRY`` if set, else ``ftx_home()/registry.db``."""
    override = os.environ.get("FTX_REGISTRY")
    if override:
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
