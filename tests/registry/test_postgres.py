"""The registry on a real PostgreSQL server: same API, migrations, guarantees and secrecy as on
SQLite; the launch claim; copying a SQLite history in with one command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ftx.errors import RegistryError
from ftx.registry import LATEST_VERSION, Registry
from thread_helpers import errors_in_threads

pytest.importorskip("psycopg", reason="psycopg (extra 'postgres') is not installed")

SECRET_ENV = "zq-Unusual-Shape-Value-8842"
SECRET_SHAPED = "sk-proj-AbCdEfGhIjKlMnOpQrStUv0123456789"


@pytest.fixture
def pg(postgres_url):
    with Registry(postgres_url) as reg:
        yield reg


def test_ftx_registry_url_selects_postgresql(postgres_url, monkeypatch):
    monkeypatch.setenv("FTX_REGISTRY", postgres_url)
    with Registry() as reg:
        assert reg.kind == "postgresql" and reg.location == postgres_url


def test_the_same_api_on_postgresql(pg):
    run = pg.create_run("demo", "openai", {"method": {"name": "lora"}}, "h1", model="gpt", client_key="ck-1",
                        estimated_cost_usd=12345678.91, data_hashes={"train": "f" * 64}, extra={"k": 1})
    assert run.estimated_cost_usd == 12345678.91  # double precision, not PostgreSQL's 4-byte REAL
    assert run.extra == {"k": 1, "user": run.extra["user"]}
    other = pg.create_run("demo", "local", {}, "h2")
    assert pg.get_run(run.id).id == run.id and pg.get_run(run.id[:-1]).id == run.id  # a unique prefix
    if run.id[:15] == other.id[:15]:
        with pytest.raises(RegistryError, match="ambiguous"):
            pg.get_run(run.id[:15])
    with pytest.raises(RegistryError, match="already exists"):
        pg.create_run("demo", "openai", {}, "h1", client_key="ck-1")
    updated = pg.update_run(run.id, status="running")
    assert updated.started_at and not updated.finished_at
    done = pg.update_run(run.id, status="succeeded", actual_cost_usd=1.5)
    assert done.finished_at and done.cost_difference()[0] == pytest.approx(1.5 - 12345678.91)
    pg.merge_json(run.id, "metrics", {"loss": 1.0})
    pg.merge_json(run.id, "metrics", {"eval_loss": 2.0})
    assert pg.get_run(run.id).metrics == {"loss": 1.0, "eval_loss": 2.0}
    for i in range(5):
        pg.add_event(run.id, "info", f"line {i}")
    assert [e.message for e in pg.events(run.id, limit=2)] == ["line 3", "line 4"]
    first = pg.events(run.id)[0]
    assert [e.message for e in pg.events(run.id, after_id=first.id)][0] == "line 1"
    assert [r.id for r in pg.list_runs()] == [other.id, run.id]
    assert [r.id for r in pg.list_runs(backend="openai", status="succeeded", recipe="demo")] == [run.id]
    assert [r.id for r in pg.list_runs(user=run.extra["user"])] == [other.id, run.id]
    assert pg.list_runs(user="nobody-else") == []
    assert pg.find_by_client_key("ck-1").id == run.id


def test_migrations_are_recorded_and_a_newer_database_is_refused(postgres_url):
    import psycopg

    with Registry(postgres_url):
        pass
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM ftx_schema ORDER BY version")]
        assert versions == list(range(1, LATEST_VERSION + 1))
        conn.execute("INSERT INTO ftx_schema (version, description) VALUES (%s, 'from the future')",
                     (LATEST_VERSION + 1,))
    with pytest.raises(RegistryError, match="newer than this ftx understands"):
        Registry(postgres_url)


def test_concurrent_first_opens_migrate_once(postgres_url):
    def open_and_write(i: int) -> None:
        with Registry(postgres_url) as reg:
            reg.create_run(f"r{i}", "local", {}, "h")

    assert errors_in_threads(open_and_write, 6) == []
    with Registry(postgres_url) as reg:
        assert sorted(r.name for r in reg.list_runs()) == [f"r{i}" for i in range(6)]


_CLAIMER = """
import sys, time
from ftx.registry import Registry
with Registry(sys.argv[1]) as reg:
    run, state = reg.claim_launch("ck-race", sys.argv[2], 60, name="demo", backend="openai",
                                  recipe_snapshot={}, recipe_hash="h")
    print(state, run.id)
"""


def test_one_claimer_of_eight_processes_wins(postgres_url):
    procs = [subprocess.Popen([sys.executable, "-c", _CLAIMER, postgres_url, f"owner-{i}"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(8)]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    states = [out.split()[0] for out, _ in results]
    assert states.count("created") == 1 and states.count("busy") == 7
    assert len({out.split()[1] for out, _ in results}) == 1


def test_secrets_never_reach_the_postgresql_server(monkeypatch, postgres_url, postgres_server):
    """Every table's rows, the server's log and its files on disk (heap and WAL) hold no secret."""
    import psycopg

    monkeypatch.setenv("OPENAI_API_KEY", SECRET_ENV)
    with Registry(postgres_url) as reg:
        run = reg.create_run(f"run-{SECRET_ENV}", "openai", {"provider": {"api_key": "literal-key-in-recipe"},
                                                             "note": f"key={SECRET_SHAPED}"}, "h",
                             client_key=f"ck-{SECRET_ENV}", extra={"env": {"OPENAI_API_KEY": SECRET_ENV}})
        reg.update_run(run.id, status="failed", error=f"401: Incorrect API key provided: {SECRET_ENV}")
        reg.merge_json(run.id, "extra", {"header": f"Bearer {SECRET_ENV}"})
        reg.add_event(run.id, "error", f"request with key {SECRET_SHAPED} failed")
        assert reg.get_run(run.id).name == "run-***"
    secrets = [SECRET_ENV, SECRET_SHAPED, "literal-key-in-recipe"]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        dump = "".join(json.dumps(r[0]) for table in ("runs", "events", "ftx_schema")
                       for r in conn.execute(f"SELECT row_to_json(t) FROM {table} t"))
        conn.execute("CHECKPOINT")
    assert "run-***" in dump
    for secret in secrets:
        assert secret not in dump, secret
    needles = [s.encode() for s in secrets] + [b"run-***"]
    found: set[bytes] = set()
    for path in Path(postgres_server.root).rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found.update(n for n in needles if n in data)
    assert b"run-***" in found  # the scan does read the server's files
    assert found == {b"run-***"}, found


def test_runs_migrate_copies_a_sqlite_history_once(cli, tmp_path, postgres_url, monkeypatch):
    sqlite_path = tmp_path / "mine.db"
    with Registry(sqlite_path) as mine:
        a = mine.create_run("alpha", "local", {"x": 1}, "h1", status="running")
        mine.update_run(a.id, status="succeeded", metrics={"loss": 0.5}, actual_cost_usd=0.0)
        mine.add_event(a.id, "info", "first")
        mine.add_event(a.id, "info", "second")
        b = mine.create_run("beta", "openai", {}, "h2", client_key="ck-b", estimated_cost_usd=2.5)
    r = cli("runs", "migrate", "--from", sqlite_path, "--to", postgres_url)
    assert r.exit_code == 0, r
    assert "copied 2 run(s) and 2 event(s)" in r.stdout
    again = cli("runs", "migrate", "--from", sqlite_path, "--to", postgres_url)
    assert "copied 0 run(s)" in again.stdout and "2 already there" in again.stdout
    with Registry(postgres_url) as team, Registry(sqlite_path) as mine:
        for run_id in (a.id, b.id):
            assert team.get_run(run_id).to_dict() == mine.get_run(run_id).to_dict()
        assert [e.message for e in team.events(a.id)] == ["first", "second"]
        assert team.find_by_client_key("ck-b").id == b.id
    monkeypatch.setenv("FTX_REGISTRY", postgres_url)
    listed = cli("runs", "list", "--recipe", "alpha", "--json")
    assert [run["id"] for run in json.loads(listed.stdout)] == [a.id]
