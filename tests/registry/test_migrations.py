"""Registry schema: opening pragmas, migrations by user_version, upgrade with data, newer-db refusal."""

from __future__ import annotations

import json
import sqlite3

import pytest

from ftx.errors import RegistryError
from ftx.registry import LATEST_VERSION, MIGRATIONS, Registry, registry_path
from ftx.registry.migrations import Migration, migrate, schema_version
from thread_helpers import errors_in_threads


def _raw(path):
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def _tables(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _indexes(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_migrations_are_numbered_in_order():
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
    assert LATEST_VERSION == len(MIGRATIONS) >= 2


def test_default_path_is_under_ftx_home_and_ftx_registry_overrides(ftx_home, tmp_path, monkeypatch):
    assert registry_path() == ftx_home / "registry.db"
    with Registry() as reg:
        assert reg.path == ftx_home / "registry.db"
    assert (ftx_home / "registry.db").exists()
    target = tmp_path / "elsewhere" / "runs.db"
    monkeypatch.setenv("FTX_REGISTRY", str(target))
    with Registry() as reg:
        reg.create_run("x", "local", {}, "h")
    assert target.exists()
    with Registry(target) as reg:
        assert [r.name for r in reg.list_runs()] == ["x"]


def test_fresh_database_is_at_latest_version_with_wal_busy_timeout_and_foreign_keys(tmp_path):
    path = tmp_path / "r.db"
    with Registry(path) as reg:
        conn = reg._conn
        assert schema_version(conn) == LATEST_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
        assert {"runs", "events"} <= _tables(conn)
        assert {"runs_status", "runs_backend", "runs_created_at", "events_run"} <= _indexes(conn)
        # Foreign keys are really enforced: an event for a run that does not exist is refused.
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO events (run_id, time, level, message) VALUES ('nope', 't', 'info', 'm')")


def _v1_database(path):
    """A registry as ftx with only migration 1 left it, holding two runs."""
    conn = _raw(path)
    assert migrate(conn, str(path), MIGRATIONS[:1]) == 1
    conn.execute(
        "INSERT INTO runs (id, name, recipe_snapshot, recipe_hash, data_hashes, backend, model, client_key, status,"
        " created_at, started_at, finished_at, estimated_cost_usd, actual_cost_usd, metrics, artifacts,"
        " output_dir, error, extra) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        ("20250101-000000-aaaa", "old-run", json.dumps({"method": {"name": "lora"}}), "h1",
         json.dumps({"train.jsonl": "ab" * 32}), "openai", "gpt-4o-mini", "ck-1", "succeeded",
         "2025-01-01T00:00:00.000Z", "2025-01-01T00:01:00.000Z", "2025-01-01T01:00:00.000Z", 1.5, 1.75,
         json.dumps({"loss": 0.25}), json.dumps({"model": "ft:gpt-4o-mini:x"}), "/out", None, json.dumps({"k": 1})))
    conn.execute("INSERT INTO runs (id, name, recipe_hash, backend, status, created_at) VALUES (?,?,?,?,?,?)",
                 ("20250102-000000-bbbb", "queued-run", "h2", "local", "queued", "2025-01-02T00:00:00.000Z"))
    conn.close()


def test_upgrades_a_v1_database_keeping_its_data(tmp_path):
    path = tmp_path / "old.db"
    _v1_database(path)
    conn = _raw(path)
    assert schema_version(conn) == 1 and "events" not in _tables(conn)
    conn.close()

    with Registry(path) as reg:
        assert schema_version(reg._conn) == LATEST_VERSION
        old = reg.get_run("20250101")
        assert old.name == "old-run" and old.backend == "openai" and old.model == "gpt-4o-mini"
        assert old.recipe_snapshot == {"method": {"name": "lora"}}
        assert old.data_hashes == {"train.jsonl": "ab" * 32}
        assert old.metrics == {"loss": 0.25} and old.artifacts == {"model": "ft:gpt-4o-mini:x"}
        assert (old.estimated_cost_usd, old.actual_cost_usd) == (1.5, 1.75)
        assert old.extra == {"k": 1} and old.output_dir == "/out"
        assert reg.find_by_client_key("ck-1").id == old.id
        # Migration 2 backfilled updated_at from the run's last movement.
        assert old.updated_at == old.finished_at == "2025-01-01T01:00:00.000Z"
        queued = reg.get_run("20250102")
        assert queued.updated_at == queued.created_at and queued.metrics == {}
        # ...and what it added works on the old rows.
        reg.add_event(old.id, "info", "imported")
        assert [e.message for e in reg.events(old.id)] == ["imported"]
        assert [r.id for r in reg.list_runs()] == ["20250102-000000-bbbb", "20250101-000000-aaaa"]
    # Opening again is a no-op.
    with Registry(path) as reg:
        assert schema_version(reg._conn) == LATEST_VERSION and len(reg.list_runs()) == 2


def test_database_from_a_newer_ftx_is_refused_and_untouched(tmp_path, cli, monkeypatch):
    path = tmp_path / "future.db"
    conn = _raw(path)
    conn.execute("CREATE TABLE runs (id TEXT PRIMARY KEY, shiny TEXT)")
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    conn.close()
    before = path.read_bytes()

    with pytest.raises(RegistryError) as err:
        Registry(path)
    message = str(err.value)
    assert "newer" in message and str(LATEST_VERSION + 5) in message and "upgrade ftx" in message
    assert path.read_bytes() == before
    assert not (tmp_path / "future.db-wal").exists()  # not even switched to WAL

    monkeypatch.setenv("FTX_REGISTRY", str(path))
    r = cli("runs", "list")
    assert r.exit_code == 2, r
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and "newer" in r.stderr
    assert path.read_bytes() == before


def test_a_failing_migration_rolls_back_everything(tmp_path):
    path = tmp_path / "r.db"
    conn = _raw(path)
    broken = (MIGRATIONS[0], Migration(2, "broken", ("CREATE TABLE half (x)", "THIS IS NOT SQL")))
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, str(path), broken)
    assert schema_version(conn) == 0
    assert _tables(conn) == set()  # migration 1 went too: pending migrations are one transaction
    assert not conn.in_transaction
    # The real migrations still apply cleanly afterwards.
    assert migrate(conn, str(path)) == LATEST_VERSION
    conn.close()


def test_misnumbered_migrations_are_a_programming_error(tmp_path):
    conn = _raw(tmp_path / "r.db")
    with pytest.raises(ValueError):
        migrate(conn, "r.db", (MIGRATIONS[1], MIGRATIONS[0]))
    conn.close()


def test_concurrent_first_opens_migrate_once(tmp_path):
    path = tmp_path / "race.db"

    def open_and_write(i: int) -> None:
        with Registry(path) as reg:
            reg.create_run(f"r{i}", "local", {}, "h")

    assert errors_in_threads(open_and_write, 6) == []
    with Registry(path) as reg:
        assert schema_version(reg._conn) == LATEST_VERSION
        assert sorted(r.name for r in reg.list_runs()) == [f"r{i}" for i in range(6)]


def test_a_file_that_is_not_a_database_is_a_registry_error(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not sqlite at all, just some bytes" * 50)
    with pytest.raises(RegistryError, match="cannot open the run registry"):
        Registry(path)
