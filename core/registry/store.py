"""The :class:`Registry`: every run ftx starts, on any backend, in one SQLite file or a shared
PostgreSQL database (see :mod:`.db`).

Every text and JSON value passes through :func:`ftx.redact.redact` before it is written, so an
API key that slipped into a recipe, an error message or a log line never reaches the disk.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from ..errors import RegistryError
from ..redact import redact, redact_text
from .db import is_postgres, open_database, registry_location
from .models import (COST_FIELDS, JSON_FIELDS, LEVELS, STARTED_STATUSES, STATUSES, TERMINAL_STATUSES, Event,
                     Run, format_time, parse_time, utc_now)

#: Fields ``update_run`` may change; ``id`` and ``created_at`` are fixed at creation.
UPDATABLE_FIELDS = frozenset({
    "name", "recipe_snapshot", "recipe_hash", "data_hashes", "backend", "model", "remote_job_id",
    "client_key", "status", "started_at", "finished_at", "estimated_cost_usd", "actual_cost_usd",
    "metrics", "artifacts", "output_dir", "error", "extra",
})
_REQUIRED_TEXT = frozenset({"name", "recipe_hash", "backend"})
_MAX_CANDIDATES = 10
_ID_ATTEMPTS = 5


def new_run_id(now: datetime | None = None) -> str:
    """A short, sortable, readable id: ``20261123-071530-ab12`` (UTC time + 4 random hex digits)."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{moment:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


class Registry:
    """The run registry at ``path``: a SQLite file or a ``postgresql://`` URL (default:
    ``$FTX_REGISTRY`` or ``ftx_home()/registry.db``).

    Safe to use from several processes at once (SQLite: WAL, busy timeout, ``BEGIN IMMEDIATE``
    writes; PostgreSQL: row locks taken before each read-modify-write), and one instance may be
    shared by threads (its connection is guarded by a lock). Use as a context manager or call
    :meth:`close`.
    """

    def __init__(self, path: str | Path | None = None):
        location = path if path is not None else registry_location()
        if is_postgres(location):
            self.path: Path | str = str(location)
        else:
            self.path = Path(location).expanduser()
        self._conn, self._db, self.location = open_database(self.path)
        self._lock = threading.RLock()

    @property
    def kind(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._db.name

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """One write transaction, taken with the write lock up front (no deadlocking upgrades)."""
        with self._lock:
            try:
                self._conn.execute(self._db.begin)
            except self._db.error as exc:
                raise RegistryError(f"cannot write to the run registry: {exc}", file=self.location) from exc
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                # Constraint violations are for the caller to explain; anything else (locked past the
                # busy timeout, disk full, read-only file) is the registry's problem to report.
                if isinstance(exc, self._db.error) and not isinstance(exc, self._db.integrity_error):
                    raise RegistryError(f"cannot write to the run registry: {exc}", file=self.location) from exc
                raise

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of one read (autocommit: sees everything committed, by any process)."""
        with self._lock:
            try:
                return self._conn.execute(sql, tuple(params)).fetchall()
            except self._db.error as exc:
                raise RegistryError(f"cannot read the run registry: {exc}", file=self.location) from exc

    # -- runs ----------------------------------------------------------------------------------
    def create_run(self, name: str, backend: str, recipe_snapshot: Mapping[str, Any], recipe_hash: str,
                   model: str | None = None, data_hashes: Mapping[str, str] | None = None,
                   status: str = "planned", client_key: str | None = None,
                   estimated_cost_usd: float | None = None, output_dir: str | Path | None = None,
                   extra: Mapping[str, Any] | None = None) -> Run:
        """Record a new run and return it. A reused ``client_key`` raises :class:`RegistryError`."""
        row = self._new_row(name, backend, recipe_snapshot, recipe_hash, model, data_hashes, status, client_key,
                            estimated_cost_usd, output_dir, extra)
        for _ in range(_ID_ATTEMPTS):
            row["id"] = new_run_id()
            try:
                with self._write() as conn:
                    self._insert(conn, row)
                return self.get_run(row["id"])
            except self._db.integrity_error as exc:
                if "client_key" in str(exc):
                    existing = self.find_by_client_key(client_key or "")
                    raise RegistryError(f"a run with client key {client_key!r} already exists"
                                        + (f": {existing.id}" if existing else "")) from exc
                if not _id_collision(exc):
                    raise RegistryError(f"cannot record the run: {exc}") from exc
                # Two runs created in the same second drew the same suffix: draw again.
        raise RegistryError("cannot allocate a unique run id; try again")

    def _new_row(self, name: str, backend: str, recipe_snapshot: Mapping[str, Any], recipe_hash: str,
                 model: str | None = None, data_hashes: Mapping[str, str] | None = None, status: str = "planned",
                 client_key: str | None = None, estimated_cost_usd: float | None = None,
                 output_dir: str | Path | None = None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        now = utc_now()
        # Who launched it: a shared (PostgreSQL) registry holds a team's runs; `ftx runs list --user` filters.
        if isinstance(extra, Mapping) or extra is None:
            extra = {"user": current_user(), **dict(extra or {})}
        values: dict[str, Any] = {
            "name": name, "backend": backend, "recipe_snapshot": recipe_snapshot, "recipe_hash": recipe_hash,
            "model": model, "data_hashes": data_hashes, "status": status, "client_key": client_key,
            "estimated_cost_usd": estimated_cost_usd, "output_dir": output_dir, "extra": extra,
        }
        row = {key: self._encode(key, value) for key, value in values.items()}
        row["created_at"] = row["updated_at"] = now
        if status in STARTED_STATUSES:
            row["started_at"] = now
        if status in TERMINAL_STATUSES:
            row["finished_at"] = now
        return row

    @staticmethod
    def _insert(conn: Any, row: Mapping[str, Any]) -> None:
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        conn.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", tuple(row.values()))

    def claim_launch(self, client_key: str, owner: str, lease_s: float, *, identity: Mapping[str, Any] | None = None,
                     stale_owner: str | None = None, **create: Any) -> tuple[Run, str]:
        """Take the right to launch the job of ``client_key``, in one transaction. Returns the run
        and ``"created"`` (a new run, made with ``create``'s fields) or ``"claimed"`` (an existing
        run without a job): this caller may upload and create; or ``"busy"``: another launcher
        holds a live claim, or the run already has a job or has ended. This is what makes a hosted launch exactly-once across processes and
        machines sharing a registry: of N launchers racing, one gets the claim and the others
        wait for its job. A claim lapses ``lease_s`` after it was taken (a launcher that died),
        and :meth:`release_launch` hands it back early; ``stale_owner`` names a holder known to be
        dead (its process is gone), whose claim is taken over at once. ``identity`` (pid, host) is
        stored with the claim so that others can tell."""
        now = datetime.now(timezone.utc)
        claim = {**dict(identity or {}), "owner": owner, "until": format_time(now + timedelta(seconds=lease_s))}
        for _ in range(_ID_ATTEMPTS):
            try:
                with self._write() as conn:
                    rows = conn.execute("SELECT * FROM runs WHERE client_key = ?" + self._db.for_update,
                                        (redact_text(client_key),)).fetchall()
                    if not rows:
                        extra = {**dict(create.pop("extra", None) or {}), "launch_claim": claim}
                        row = self._new_row(client_key=client_key, extra=extra, **create)
                        row["id"] = new_run_id()
                        self._insert(conn, row)
                        run_id, state = row["id"], "created"
                    else:
                        existing = Run.from_row(rows[0])
                        run_id = existing.id
                        state = "claimed" if _claimable(existing, owner, now, stale_owner) else "busy"
                        if state == "claimed":
                            conn.execute("UPDATE runs SET extra = ?, updated_at = ? WHERE id = ?",
                                         (self._encode("extra", {**existing.extra, "launch_claim": claim}),
                                          utc_now(), existing.id))
                return self.get_run(run_id), state
            except self._db.integrity_error as exc:
                # PostgreSQL: a racing launcher inserted the key first; its row is there now.
                if "client_key" not in str(exc) and not _id_collision(exc):
                    raise RegistryError(f"cannot record the run: {exc}") from exc
        raise RegistryError("cannot claim the launch; try again")

    def release_launch(self, run_id: str, owner: str) -> None:
        """Give back a claim taken with :meth:`claim_launch` (the launch stopped without a job)."""
        with self._write() as conn:
            row = conn.execute("SELECT extra FROM runs WHERE id = ?" + self._db.for_update, (run_id,)).fetchone()
            extra = json.loads(row["extra"]) if row and row["extra"] else {}
            if (extra.get("launch_claim") or {}).get("owner") == owner:
                extra.pop("launch_claim")
                conn.execute("UPDATE runs SET extra = ?, updated_at = ? WHERE id = ?",
                             (self._encode("extra", extra), utc_now(), run_id))

    def update_run(self, run_id: str, **fields: Any) -> Run:
        """Change fields of a run (exact id or unique prefix) and return it updated.

        JSON fields replace the stored value (use :meth:`merge_json` to merge). Setting ``status``
        stamps ``started_at`` on reaching ``running`` and ``finished_at`` on reaching a terminal
        status (unless given explicitly); returning to a non-terminal status clears ``finished_at``.
        """
        unknown = sorted(set(fields) - UPDATABLE_FIELDS)
        if unknown:
            raise RegistryError(f"cannot update run field(s) {', '.join(unknown)}; "
                                f"updatable: {', '.join(sorted(UPDATABLE_FIELDS))}")
        run = self.get_run(run_id)
        row = {key: self._encode(key, value) for key, value in fields.items()}
        status = fields.get("status")
        try:
            with self._write() as conn:
                # The stamps depend on the status as it is now, under the lock, not as read above.
                current = conn.execute("SELECT status, started_at FROM runs WHERE id = ?" + self._db.for_update,
                                       (run.id,)).fetchone()
                now = utc_now()
                if status is not None and status != current["status"]:
                    if status in STARTED_STATUSES and current["started_at"] is None and "started_at" not in fields:
                        row["started_at"] = now
                    if "finished_at" not in fields:
                        # Reaching a terminal status finishes the run; leaving one (a resume) un-finishes it.
                        row["finished_at"] = now if status in TERMINAL_STATUSES else None
                row["updated_at"] = now
                assignments = ", ".join(f"{key} = ?" for key in row)
                conn.execute(f"UPDATE runs SET {assignments} WHERE id = ?", (*row.values(), run.id))
        except self._db.integrity_error as exc:
            raise RegistryError(f"cannot update run {run.id}: {exc}") from exc
        return self.get_run(run.id)

    def merge_json(self, run_id: str, field: str, updates: Mapping[str, Any]) -> Run:
        """Merge ``updates`` into a JSON field (e.g. metrics) atomically, so concurrent writers
        (a training rank and a watcher) do not overwrite each other's keys."""
        if field not in JSON_FIELDS:
            raise RegistryError(f"{field} is not a JSON field; JSON fields: {', '.join(JSON_FIELDS)}")
        run = self.get_run(run_id)
        with self._write() as conn:
            current = conn.execute(f"SELECT {field} FROM runs WHERE id = ?" + self._db.for_update,
                                   (run.id,)).fetchone()[field]
            merged = {**(json.loads(current) if current else {}), **dict(updates)}
            conn.execute(f"UPDATE runs SET {field} = ?, updated_at = ? WHERE id = ?",
                         (self._encode(field, merged), utc_now(), run.id))
        return self.get_run(run.id)

    def get_run(self, id_or_prefix: str) -> Run:
        """The run with this id, or the only run whose id starts with it.

        An unknown or ambiguous prefix raises :class:`RegistryError` (the latter listing the matches).
        """
        key = (id_or_prefix or "").strip()
        if not key:
            raise RegistryError("no run id given")
        exact = self._query("SELECT * FROM runs WHERE id = ?", (key,))
        if exact:
            return Run.from_row(exact[0])
        rows = self._query(
            "SELECT * FROM runs WHERE substr(id, 1, CAST(? AS INTEGER)) = ? "
            f"ORDER BY created_at DESC, {self._db.tiebreak} DESC LIMIT ?",
            (len(key), key, _MAX_CANDIDATES + 1))
        if len(rows) == 1:
            return Run.from_row(rows[0])
        if not rows:
            raise RegistryError(f"no run matches {key!r} (`ftx runs list` shows recorded runs)")
        shown = ", ".join(f"{r['id']} ({r['name']})" for r in rows[:_MAX_CANDIDATES])
        more = " and more" if len(rows) > _MAX_CANDIDATES else ""
        raise RegistryError(f"run prefix {key!r} is ambiguous; it matches {shown}{more}")

    def list_runs(self, limit: int | None = 50, backend: str | None = None, status: str | None = None,
                  backends: Sequence[str] | None = None, recipe: str | None = None,
                  user: str | None = None) -> list[Run]:
        """Runs newest first, optionally only those on ``backend`` (or any of ``backends``), in
        ``status``, of the recipe named ``recipe`` or launched by ``user``; ``limit=None`` for all."""
        where: list[str] = []
        params: list[Any] = []
        if backend:
            where.append("backend = ?")
            params.append(backend)
        if backends is not None:
            where.append(f"backend IN ({', '.join('?' for _ in backends) or 'NULL'})")
            params.extend(backends)
        if status:
            _check_status(status)
            where.append("status = ?")
            params.append(status)
        if recipe:
            where.append("name = ?")
            params.append(redact_text(recipe))
        if user:
            where.append(f"{self._db.json_text('extra', 'user')} = ?")
            params.append(user)
        sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
        sql += f" ORDER BY created_at DESC, {self._db.tiebreak} DESC"
        if limit is not None:
            if limit < 1:
                raise RegistryError(f"limit must be at least 1, not {limit}")
            sql += " LIMIT ?"
            params.append(limit)
        return [Run.from_row(r) for r in self._query(sql, params)]

    def find_by_remote_job(self, job_id: str) -> list[Run]:
        """The runs whose provider job id is ``job_id`` (an indexed lookup), newest first."""
        rows = self._query("SELECT * FROM runs WHERE remote_job_id = ? "
                           f"ORDER BY created_at DESC, {self._db.tiebreak} DESC", (job_id,))
        return [Run.from_row(r) for r in rows]

    def find_by_client_key(self, key: str) -> Run | None:
        """The run created with this idempotency key, if any (how a retried submission finds its job)."""
        rows = self._query("SELECT * FROM runs WHERE client_key = ?", (redact_text(key),))
        return Run.from_row(rows[0]) if rows else None

    # -- events --------------------------------------------------------------------------------
    def add_event(self, run_id: str, level: str, message: str) -> Event:
        """Append a line to a run's history (level: debug, info, warning or error)."""
        level = level.lower()
        if level not in LEVELS:
            raise RegistryError(f"unknown event level {level!r}; one of {', '.join(LEVELS)}")
        run = self.get_run(run_id)
        with self._write() as conn:
            row = conn.execute("INSERT INTO events (run_id, time, level, message) VALUES (?, ?, ?, ?) RETURNING *",
                               (run.id, utc_now(), level, redact_text(str(message)))).fetchall()[0]
        return Event.from_row(row)

    def events(self, run_id: str, limit: int | None = None, after_id: int | None = None) -> list[Event]:
        """A run's events, oldest first: the last ``limit`` of them, or only those after ``after_id``
        (how a live log follows a run without re-reading it)."""
        run = self.get_run(run_id)
        sql, params = "SELECT * FROM events WHERE run_id = ?", [run.id]
        if after_id is not None:
            sql += " AND id > ?"
            params.append(after_id)
        if limit is not None:
            sql = f"SELECT * FROM ({sql} ORDER BY id DESC LIMIT ?) AS recent ORDER BY id"
            params.append(limit)
        else:
            sql += " ORDER BY id"
        return [Event.from_row(r) for r in self._query(sql, params)]

    # -- encoding ------------------------------------------------------------------------------
    def _encode(self, field: str, value: Any) -> Any:
        """Validate one field and turn it into what is stored, redacted."""
        if field in JSON_FIELDS:
            if value is None:
                value = {}
            if not isinstance(value, Mapping):
                raise RegistryError(f"{field} must be a mapping, not {type(value).__name__}")
            # Through JSON first so that Paths and other objects are text *before* redaction sees them.
            plain = json.loads(json.dumps(dict(value), default=str))
            return json.dumps(redact(plain), sort_keys=True, ensure_ascii=False)
        if field == "status":
            _check_status(value)
            return value
        if field in COST_FIELDS:
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise RegistryError(f"{field} must be a number of dollars, not {value!r}")
            return float(value)
        if field in ("started_at", "finished_at"):
            return _encode_time(field, value)
        if value is None:
            if field in _REQUIRED_TEXT:
                raise RegistryError(f"{field} is required")
            return None
        if isinstance(value, Path):
            value = str(value)
        if not isinstance(value, str):
            raise RegistryError(f"{field} must be text, not {type(value).__name__}")
        if field in _REQUIRED_TEXT and not value.strip():
            raise RegistryError(f"{field} must not be empty")
        return redact_text(value)


def current_user() -> str:
    """Who is launching: ``$FTX_USER``, else the login name."""
    try:
        return os.environ.get("FTX_USER") or getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for this uid (some containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def _claimable(run: Run, owner: str, now: datetime, stale_owner: str | None = None) -> bool:
    """Whether a launcher may (re)take the launch of an existing run: it has no job yet, has not
    ended, and nobody else holds a claim that is still running."""
    if run.remote_job_id or run.status in ("succeeded", "failed", "cancelled"):
        return False
    claim = run.extra.get("launch_claim") or {}
    if not claim or claim.get("owner") in (owner, stale_owner):
        return True
    until = parse_time(claim.get("until"))
    return until is None or until <= now


def _id_collision(exc: BaseException) -> bool:
    text = str(exc)
    return "runs.id" in text or "runs_pkey" in text


def _check_status(status: Any) -> None:
    if status not in STATUSES:
        raise RegistryError(f"unknown run status {status!r}; one of {', '.join(STATUSES)}")


def _encode_time(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, str):
        try:
            moment = parse_time(value)
        except ValueError:
            raise RegistryError(f"{field} must be an ISO-8601 time, not {value!r}") from None
        return format_time(moment) if moment else None
    raise RegistryError(f"{field} must be a datetime or ISO-8601 text, not {type(value).__name__}")
