"""The Registry API: runs, prefix lookup, status stamps, filters, idempotency keys, events, secrets."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ftx.errors import RegistryError
from ftx.registry import Registry, Run, new_run_id
from ftx.registry import store
from ftx.registry.models import parse_time
from thread_helpers import errors_in_threads

SNAPSHOT = {"name": "demo", "method": {"name": "lora", "r": 8}, "training": {"epochs": 2}}


@pytest.fixture
def reg():
    with Registry() as r:
        yield r


@pytest.fixture
def fixed_ids(monkeypatch):
    """Make new_run_id hand out the given ids in order."""
    def use(*ids: str) -> None:
        it = iter(ids)
        monkeypatch.setattr(store, "new_run_id", lambda now=None: next(it))
    return use


def test_run_ids_are_short_sortable_utc_stamps():
    rid = new_run_id(datetime(2026, 11, 23, 7, 15, 30, tzinfo=timezone.utc))
    assert re.fullmatch(r"20261123-071530-[0-9a-f]{4}", rid)
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", new_run_id())


def test_create_run_records_everything_and_parses_json(reg, tmp_path):
    run = reg.create_run("demo", "local", SNAPSHOT, "abc123", model="Qwen/Qwen2.5-0.5B",
                         data_hashes={"train.jsonl": "f" * 64}, client_key="ck-1", estimated_cost_usd=1,
                         output_dir=tmp_path / "out", extra={"seed": 7})
    assert isinstance(run, Run)
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{4}", run.id)
    assert (run.name, run.backend, run.model, run.status) == ("demo", "local", "Qwen/Qwen2.5-0.5B", "planned")
    assert run.recipe_snapshot == SNAPSHOT and run.recipe_hash == "abc123"
    assert run.data_hashes == {"train.jsonl": "f" * 64} and run.extra == {"seed": 7, "user": store.current_user()}
    assert run.estimated_cost_usd == 1.0 and isinstance(run.estimated_cost_usd, float)
    assert run.actual_cost_usd is None and run.metrics == {} and run.artifacts == {}
    assert run.output_dir == str(tmp_path / "out") and run.client_key == "ck-1"
    created = parse_time(run.created_at)
    assert created.tzinfo is not None and abs((datetime.now(timezone.utc) - created).total_seconds()) < 60
    assert run.created_at.endswith("Z") and run.started_at is None and run.finished_at is None
    assert run.id.startswith(created.strftime("%Y%m%d"))
    # Another connection sees the same row.
    with Registry() as other:
        assert other.get_run(run.id) == run


@pytest.mark.parametrize("kwargs,match", [
    ({"status": "done"}, "unknown run status"),
    ({"estimated_cost_usd": "cheap"}, "number of dollars"),
    ({"extra": ["not", "a", "mapping"]}, "must be a mapping"),
    ({"model": 42}, "must be text"),
])
def test_create_run_validates(reg, kwargs, match):
    with pytest.raises(RegistryError, match=match):
        reg.create_run("demo", "local", {}, "h", **kwargs)
    assert reg.list_runs() == []


def test_create_run_rejects_empty_required_text(reg):
    with pytest.raises(RegistryError, match="backend must not be empty"):
        reg.create_run("demo", " ", {}, "h")


def test_get_run_by_id_unique_prefix_ambiguous_and_unknown(reg, fixed_ids):
    fixed_ids("20261123-071530-ab12", "20261123-071530-ab34", "20261124-000000-0000")
    a = reg.create_run("first", "local", {}, "h")
    b = reg.create_run("second", "openai", {}, "h")
    c = reg.create_run("third", "vertex", {}, "h")
    assert reg.get_run(a.id).name == "first"
    assert reg.get_run("20261124").id == c.id
    assert reg.get_run("20261123-071530-ab3").id == b.id
    assert reg.get_run("  20261123-071530-ab1 ").id == a.id

    with pytest.raises(RegistryError) as err:
        reg.get_run("20261123-071530-ab")
    text = str(err.value)
    assert "ambiguous" in text and a.id in text and b.id in text and c.id not in text
    assert "\n" not in text

    with pytest.raises(RegistryError, match="no run matches 'zzz'"):
        reg.get_run("zzz")
    with pytest.raises(RegistryError, match="no run id given"):
        reg.get_run("")
    # A prefix is matched literally, not as a LIKE/GLOB pattern.
    with pytest.raises(RegistryError, match="no run matches"):
        reg.get_run("2026%")


def test_id_collision_draws_a_new_id(reg, fixed_ids):
    fixed_ids("20261123-071530-aaaa", "20261123-071530-aaaa", "20261123-071530-bbbb")
    first = reg.create_run("one", "local", {}, "h")
    second = reg.create_run("two", "local", {}, "h")
    assert (first.id, second.id) == ("20261123-071530-aaaa", "20261123-071530-bbbb")


def test_update_run_changes_validated_fields(reg):
    run = reg.create_run("demo", "openai", SNAPSHOT, "h")
    updated = reg.update_run(run.id[:15], remote_job_id="ftjob-1",  # the only run: a prefix is enough
                             metrics={"loss": 0.5, "steps": 10}, artifacts={"model": "ft:gpt-4o-mini:x"},
                             actual_cost_usd=2, error="boom")
    assert updated.id == run.id
    assert updated.remote_job_id == "ftjob-1" and updated.metrics == {"loss": 0.5, "steps": 10}
    assert updated.artifacts == {"model": "ft:gpt-4o-mini:x"} and updated.actual_cost_usd == 2.0
    assert updated.error == "boom" and updated.recipe_snapshot == SNAPSHOT
    assert updated.updated_at >= run.updated_at
    assert reg.update_run(run.id, metrics={"loss": 0.4}).metrics == {"loss": 0.4}  # replaces
    assert reg.update_run(run.id, error=None).error is None

    with pytest.raises(RegistryError) as err:
        reg.update_run(run.id, colour="blue", id="x")
    assert "colour" in str(err.value) and "id" in str(err.value) and "status" in str(err.value)
    with pytest.raises(RegistryError, match="created_at"):
        reg.update_run(run.id, created_at="2020-01-01T00:00:00Z")
    with pytest.raises(RegistryError, match="unknown run status"):
        reg.update_run(run.id, status="exploded")
    with pytest.raises(RegistryError, match="ISO-8601"):
        reg.update_run(run.id, started_at="yesterday")
    with pytest.raises(RegistryError, match="no run matches"):
        reg.update_run("nope", error="x")
    assert reg.get_run(run.id).status == "planned"


def test_status_transitions_stamp_start_and_finish(reg):
    run = reg.create_run("demo", "openai", {}, "h")
    run = reg.update_run(run.id, status="uploading")
    assert run.started_at is None and run.finished_at is None
    run = reg.update_run(run.id, status="queued")
    assert run.started_at is None
    run = reg.update_run(run.id, status="running")
    started = run.started_at
    assert started is not None and run.finished_at is None and run.duration_s is not None
    run = reg.update_run(run.id, status="interrupted")
    assert run.finished_at is not None and run.started_at == started and run.is_finished
    # Resuming keeps the original start and clears the finish.
    run = reg.update_run(run.id, status="running")
    assert run.started_at == started and run.finished_at is None and not run.is_finished
    run = reg.update_run(run.id, status="succeeded")
    assert run.finished_at >= started and run.duration_s >= 0
    finished = run.finished_at
    # Setting the same status again does not move the stamps.
    assert reg.update_run(run.id, status="succeeded").finished_at == finished


def test_failure_before_start_has_no_start_and_explicit_stamps_win(reg):
    run = reg.create_run("demo", "openai", {}, "h", status="queued")
    run = reg.update_run(run.id, status="failed", error="quota exceeded")
    assert run.started_at is None and run.finished_at is not None and run.duration_s is None
    other = reg.create_run("demo", "local", {}, "h", status="running")
    assert other.started_at == other.created_at
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    other = reg.update_run(other.id, status="cancelled", finished_at=moment)
    assert other.finished_at == "2026-01-02T03:04:05.000Z"


def test_list_runs_newest_first_with_filters_and_limit(reg):
    made = [reg.create_run(f"r{i}", backend, {}, "h", status=status)
            for i, (backend, status) in enumerate([("local", "succeeded"), ("openai", "queued"),
                                                   ("local", "failed"), ("vertex", "succeeded"),
                                                   ("local", "succeeded")])]
    assert [r.name for r in reg.list_runs()] == ["r4", "r3", "r2", "r1", "r0"]
    assert [r.name for r in reg.list_runs(limit=2)] == ["r4", "r3"]
    assert [r.name for r in reg.list_runs(limit=None)] == ["r4", "r3", "r2", "r1", "r0"]
    assert [r.name for r in reg.list_runs(backend="local")] == ["r4", "r2", "r0"]
    assert [r.name for r in reg.list_runs(status="succeeded")] == ["r4", "r3", "r0"]
    assert [r.name for r in reg.list_runs(backend="local", status="succeeded", limit=1)] == ["r4"]
    assert reg.list_runs(backend="nowhere") == []
    with pytest.raises(RegistryError, match="unknown run status"):
        reg.list_runs(status="great")
    with pytest.raises(RegistryError, match="at least 1"):
        reg.list_runs(limit=0)
    assert len(made) == 5


def test_client_keys_are_unique_idempotency_keys(reg):
    run = reg.create_run("hosted", "openai", {}, "h", client_key="ftx-abc")
    reg.create_run("no key", "openai", {}, "h")
    reg.create_run("no key either", "openai", {}, "h")  # NULL keys do not collide
    assert reg.find_by_client_key("ftx-abc").id == run.id
    assert reg.find_by_client_key("ftx-other") is None
    with pytest.raises(RegistryError) as err:
        reg.create_run("retry", "openai", {}, "h", client_key="ftx-abc")
    assert "already exists" in str(err.value) and run.id in str(err.value)
    assert len(reg.list_runs()) == 3
    other = reg.create_run("second", "openai", {}, "h")
    with pytest.raises(RegistryError, match="cannot update"):
        reg.update_run(other.id, client_key="ftx-abc")


def test_events_append_and_read_back(reg):
    run = reg.create_run("demo", "local", {}, "h")
    first = reg.add_event(run.id, "info", "started")
    reg.add_event(run.id, "WARNING", "loss spiked to 9.1")
    reg.add_event(run.id, "error", "out of memory")
    assert first.run_id == run.id and first.level == "info" and parse_time(first.time) is not None
    assert [(e.level, e.message) for e in reg.events(run.id)] == [
        ("info", "started"), ("warning", "loss spiked to 9.1"), ("error", "out of memory")]
    assert [e.message for e in reg.events(run.id, limit=2)] == ["loss spiked to 9.1", "out of memory"]
    assert [e.message for e in reg.events(run.id, after_id=first.id)] == ["loss spiked to 9.1", "out of memory"]
    other = reg.create_run("other", "local", {}, "h")
    assert reg.events(other.id) == []
    with pytest.raises(RegistryError, match="unknown event level"):
        reg.add_event(run.id, "shout", "x")
    with pytest.raises(RegistryError, match="no run matches"):
        reg.add_event("nope", "info", "x")


def test_merge_json_merges_instead_of_replacing(reg):
    run = reg.create_run("demo", "local", {}, "h")
    reg.update_run(run.id, metrics={"loss": 1.0})
    assert reg.merge_json(run.id, "metrics", {"eval_loss": 1.2}).metrics == {"loss": 1.0, "eval_loss": 1.2}
    assert reg.merge_json(run.id, "artifacts", {"adapter": "/a"}).artifacts == {"adapter": "/a"}
    with pytest.raises(RegistryError, match="not a JSON field"):
        reg.merge_json(run.id, "error", {"x": 1})


def test_cost_difference(reg):
    run = reg.create_run("demo", "openai", {}, "h", estimated_cost_usd=4.0)
    assert run.cost_difference() is None
    run = reg.update_run(run.id, actual_cost_usd=5.0)
    assert run.cost_difference() == (1.0, 25.0)
    free = reg.create_run("free", "local", {}, "h", estimated_cost_usd=0.0)
    assert reg.update_run(free.id, actual_cost_usd=0.5).cost_difference() == (0.5, None)


def test_concurrent_writers_in_threads_lose_nothing(tmp_path):
    path = tmp_path / "busy.db"
    Registry(path).close()

    def work(worker: int) -> None:
        with Registry(path) as reg:
            for i in range(10):
                run = reg.create_run(f"w{worker}-{i}", "local", {}, "h")
                reg.update_run(run.id, status="running")
                reg.add_event(run.id, "info", "tick")
                reg.merge_json(run.id, "metrics", {f"w{worker}": i})

    assert errors_in_threads(work, 4) == []
    with Registry(path) as reg:
        runs = reg.list_runs(limit=None)
        assert len(runs) == 40 and {r.status for r in runs} == {"running"}
        assert all(len(reg.events(r.id)) == 1 for r in runs)


def test_one_registry_shared_by_threads(reg):
    def work(worker: int) -> None:
        for i in range(10):
            run = reg.create_run(f"s{worker}-{i}", "local", {}, "h")
            reg.add_event(run.id, "info", "tick")
            reg.update_run(run.id, status="running")
            assert reg.get_run(run.id).status == "running"

    assert errors_in_threads(work, 4) == []
    assert len(reg.list_runs(limit=None)) == 40


def test_write_failures_are_registry_errors(tmp_path):
    path = tmp_path / "r.db"
    with Registry(path) as reg:
        run = reg.create_run("demo", "local", {}, "h")
        # Another process holds the write lock past our (shortened) busy timeout.
        other = sqlite3.connect(str(path), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        reg._conn.execute("PRAGMA busy_timeout = 50")
        try:
            with pytest.raises(RegistryError, match="cannot write to the run registry"):
                reg.update_run(run.id, status="running")
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert reg.update_run(run.id, status="running").status == "running"


_WRITER = """
import sys
from ftx.registry import Registry
with Registry(sys.argv[1]) as reg:
    for i in range(15):
        run = reg.create_run(f"p{sys.argv[2]}-{i}", "local", {}, "h")
        reg.update_run(run.id, status="succeeded", metrics={"i": i})
        reg.add_event(run.id, "info", "done")
"""


def test_concurrent_writer_processes_lose_nothing(tmp_path):
    path = tmp_path / "procs.db"
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(p)], stderr=subprocess.PIPE)
             for p in range(3)]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
    with Registry(path) as reg:
        runs = reg.list_runs(limit=None)
        assert sorted(r.name for r in runs) == sorted(f"p{p}-{i}" for p in range(3) for i in range(15))
        assert all(r.status == "succeeded" and r.finished_at for r in runs)


SECRET_ENV = "zq-Unusual-Shape-Value-8842"      # matches no known shape: only the env rule catches it
SECRET_TOKEN = "tok.Another.Opaque.Value.123"
SECRET_SHAPED = "sk-proj-AbCdEfGhIjKlMnOpQrStUv0123456789"


def _stored_bytes(db: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal", "-shm", "-journal"):
        f = Path(str(db) + suffix)
        if f.exists():
            data += f.read_bytes()
    return data


def test_secrets_never_reach_the_database_file(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET_ENV)
    monkeypatch.setenv("FTX_VERTEX_ACCESS_TOKEN", SECRET_TOKEN)
    db = tmp_path / "secret.db"
    reg = Registry(db)
    snapshot = {"name": "demo", "notes": f"made with {SECRET_ENV}",
                "provider": {"openai": {"api_key": "literal-key-in-recipe"}, "token": SECRET_TOKEN},
                "prompts": [f"Authorization: Bearer {SECRET_TOKEN}", f"key={SECRET_SHAPED}"]}
    run = reg.create_run(f"run-{SECRET_ENV}", "openai", snapshot, "h", model="gpt-4o-mini",
                         client_key=f"ck-{SECRET_ENV}", extra={"env": {"OPENAI_API_KEY": SECRET_ENV}},
                         output_dir=f"/tmp/{SECRET_ENV}")
    reg.update_run(run.id, status="failed", metrics={"note": f"token {SECRET_TOKEN}", "loss": 0.5},
                   error=f"401 Unauthorized: Incorrect API key provided: {SECRET_ENV} ({SECRET_SHAPED})",
                   remote_job_id=f"job-{SECRET_TOKEN}", artifacts={"log": f"/logs/{SECRET_ENV}.txt"})
    reg.merge_json(run.id, "extra", {"header": f"Bearer {SECRET_ENV}"})
    reg.add_event(run.id, "error", f"request with key {SECRET_ENV} and {SECRET_SHAPED} failed")
    reg.merge_json(run.id, "artifacts", {"path": tmp_path / SECRET_ENV})  # objects are redacted as text too

    secrets = [SECRET_ENV, SECRET_TOKEN, SECRET_SHAPED, "literal-key-in-recipe"]
    raw = _stored_bytes(db)  # while open: the WAL holds the writes
    assert Path(str(db) + "-wal").exists()
    for secret in secrets:
        assert secret.encode() not in raw, secret
    reg.close()
    raw = _stored_bytes(db)  # after close: checkpointed into the main file
    for secret in secrets:
        assert secret.encode() not in raw, secret

    # The rest of the information survived, masked.
    with Registry(db) as reg:
        stored = reg.get_run(run.id)
        assert stored.name == "run-***" and stored.recipe_snapshot["provider"] == {"openai": {"api_key": "***"},
                                                                                   "token": "***"}
        assert stored.recipe_snapshot["notes"] == "made with ***"
        assert stored.error.startswith("401 Unauthorized") and "***" in stored.error
        assert stored.metrics == {"note": "token ***", "loss": 0.5}
        assert [e.message for e in reg.events(run.id)] == ["request with key *** and *** failed"]
        assert reg.find_by_client_key(f"ck-{SECRET_ENV}").id == run.id  # same scrubbing on lookup


def test_list_runs_filters_by_recipe_and_user(reg, monkeypatch):
    monkeypatch.setenv("FTX_USER", "alice")
    a = reg.create_run("alpha", "local", {}, "h")
    monkeypatch.setenv("FTX_USER", "bob")
    b = reg.create_run("beta", "openai", {}, "h")
    assert a.extra["user"] == "alice" and b.extra["user"] == "bob"
    assert [r.id for r in reg.list_runs(user="alice")] == [a.id]
    assert [r.id for r in reg.list_runs(recipe="beta", user="bob", backend="openai")] == [b.id]
    assert reg.list_runs(recipe="alpha", user="bob") == []


def test_claim_launch_gives_one_launcher_the_job(reg):
    fields = dict(name="demo", backend="openai", recipe_snapshot={}, recipe_hash="h")
    run, state = reg.claim_launch("ck", "one", 60, **fields)
    assert state == "created" and run.client_key == "ck" and run.extra["launch_claim"]["owner"] == "one"
    assert reg.claim_launch("ck", "two", 60, **fields)[1] == "busy"  # the first holds a live claim
    assert reg.claim_launch("ck", "two", 60, stale_owner="one", **fields)[1] == "claimed"  # its process died
    reg.release_launch(run.id, "two")
    assert reg.claim_launch("ck", "three", 60, **fields)[1] == "claimed"
    reg.update_run(run.id, remote_job_id="job-1")
    assert reg.claim_launch("ck", "four", 60, **fields)[1] == "busy"  # it has a job: follow it
    assert len(reg.list_runs()) == 1
    expired = reg.claim_launch("ck2", "five", -1, **fields)[0]
    assert reg.claim_launch("ck2", "six", 60, **fields) == (reg.get_run(expired.id), "claimed")  # lapsed lease
