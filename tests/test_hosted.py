"""The hosted-provider contract and its provider-neutral orchestrator, with an in-memory provider.

The OpenAI provider is tested end to end against a fake server in tests/providers/openai; here
the core's own promises are pinned down without any SDK: retries (retry-after honoured, give up
cleanly, never retry a terminal error), exactly-once creation when a create's answer is lost,
attempt keys, following a job to metrics.jsonl and actual cost, and detaching on Ctrl-C.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ftx.errors import BackendError
from ftx.hosted import (HostedBackend, HostedProvider, PreparedJob, ProviderError, RemoteEvent, RemoteJob,
                        TransientError, UploadFile, client_key_for)
from ftx.hosted_retry import RetryPolicy, retrying


class MemoryProvider(HostedProvider):
    """A provider whose 'cloud' is a dict; its jobs finish after ``steps`` polls."""

    name = "Memory"

    def __init__(self, steps: int = 3, fail_with: tuple[str, str] | None = None):
        self.jobs: dict[str, dict[str, Any]] = {}
        self.creates = 0
        self.steps = steps
        self.fail_with = fail_with
        self.lose_create_answers = 0  # the job is made, then the answer "times out"
        self.flaky_reads = 0

    def find_job(self, client_key: str) -> RemoteJob | None:
        for job_id, job in self.jobs.items():
            if job["key"] == client_key:
                return self._view(job_id)
        return None

    def create_job(self, prepared: PreparedJob, refs: dict[str, str]) -> RemoteJob:
        self.creates += 1
        job_id = f"job-{len(self.jobs) + 1}"
        self.jobs[job_id] = {"key": prepared.client_key, "polls": 0, "refs": refs, "cancelled": False}
        if self.lose_create_answers:
            self.lose_create_answers -= 1
            raise TransientError("the answer was lost", status=504)
        return self._view(job_id)

    def _view(self, job_id: str) -> RemoteJob:
        job = self.jobs[job_id]
        polls = job["polls"]
        if job["cancelled"]:
            return RemoteJob(job_id, "cancelled", "cancelled", client_key=job["key"])
        if polls < self.steps:
            return RemoteJob(job_id, "running" if polls else "queued", "running" if polls else "queued",
                             base_model="base-1", client_key=job["key"])
        if self.fail_with:
            return RemoteJob(job_id, "failed", "failed", base_model="base-1", error_code=self.fail_with[0],
                             error_message=self.fail_with[1], client_key=job["key"])
        return RemoteJob(job_id, "succeeded", "succeeded", base_model="base-1", fine_tuned_model="tuned-1",
                         trained_tokens=2_000_000, client_key=job["key"], raw={"id": job_id, "status": "succeeded"})

    def get_job(self, job_id: str) -> RemoteJob:
        if self.flaky_reads:
            self.flaky_reads -= 1
            raise TransientError("connection reset")
        self.jobs[job_id]["polls"] += 1
        return self._view(job_id)

    def events_since(self, job_id: str, last_event_id: str | None) -> list[RemoteEvent]:
        polls = self.jobs[job_id]["polls"]
        n = int(last_event_id or 0)
        return [RemoteEvent(str(i), float(i), "info", f"step {i}", {"step": i, "loss": 1.0 / i})
                for i in range(n + 1, polls + 1)]

    def final_metrics(self, job: RemoteJob) -> list[dict[str, Any]]:
        return [{"step": i, "loss": 1.0 / i} for i in range(1, self.steps + 1)]

    def result_files(self, job: RemoteJob) -> dict[str, bytes]:
        return {"results.csv": b"step,loss\n1,1.0\n"}

    def actual_cost(self, job: RemoteJob) -> float | None:
        return job.trained_tokens * 1.5 / 1e6 if job.trained_tokens else None

    def cancel_job(self, job_id: str) -> RemoteJob:
        self.jobs[job_id]["cancelled"] = True
        return self._view(job_id)

    def upload(self, file: UploadFile) -> str:
        return f"file-{file.sha256[:8]}"

    def list_jobs(self, limit: int = 20) -> list[RemoteJob]:
        return [self._view(job_id) for job_id in list(self.jobs)[::-1][:limit]]


class MemoryBackend(HostedBackend):
    name = "memory"
    provider = MemoryProvider

    def __init__(self, provider: MemoryProvider):
        self.memory = provider

    def connect(self, connection: dict[str, Any]) -> HostedProvider:
        return self.memory


def _prepared(key: str = "ftx-k") -> PreparedJob:
    file = UploadFile.build("train", b'{"a": 1}\n', 1, 5)
    return PreparedJob("memory", "base-1", {"model": "base-1", "training_file": {"$upload": "train"}}, [file], key)


@pytest.fixture
def policy() -> RetryPolicy:
    slept: list[float] = []
    return RetryPolicy(attempts=4, initial_wait=0.5, max_wait=8, jitter=0.0, sleep=slept.append)


# -- data types -------------------------------------------------------------------------------------
def test_upload_file_name_embeds_the_content_hash():
    a = UploadFile.build("train", b"one\n", 1)
    b = UploadFile.build("train", b"two\n", 1)
    assert a.filename == f"ftx-{a.sha256[:16]}-train.jsonl"
    assert a.filename != b.filename


def test_prepared_job_resolves_and_describes_upload_placeholders():
    prepared = _prepared()
    assert prepared.resolve({"train": "file-9"})["training_file"] == "file-9"
    shown = prepared.display_request()["training_file"]
    assert shown.startswith("<upload of ftx-") and "1 examples, 5 tokens" in shown
    assert prepared.request["training_file"] == {"$upload": "train"}  # untouched


def test_client_key_is_stable_and_changes_with_request_or_data():
    files = [UploadFile.build("train", b"x\n", 1)]
    key = client_key_for("openai", "m", {"seed": 1}, files)
    assert key == client_key_for("openai", "m", {"seed": 1}, files)
    assert key != client_key_for("openai", "m", {"seed": 2}, files)
    assert key != client_key_for("openai", "m", {"seed": 1}, [UploadFile.build("train", b"y\n", 1)])
    assert key != client_key_for("azure-openai", "m", {"seed": 1}, files)


def test_provider_error_is_one_line_with_the_code():
    err = ProviderError("OpenAI", "job ftjob-1 failed:\n  bad file", "invalid_training_file")
    assert str(err) == "OpenAI: job ftjob-1 failed: bad file (error code: invalid_training_file)"
    assert isinstance(err, BackendError) and err.code == "invalid_training_file"


# -- retries --------------------------------------------------------------------------------------------
def test_retry_honours_retry_after_then_succeeds(policy):
    answers = [TransientError("slow down", status=429, retry_after=3.0), "ok"]

    def call():
        item = answers.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    assert retrying("reading", call, policy=policy) == "ok"
    assert policy.waits == [3.0]


def test_retry_backs_off_exponentially_without_advice(policy):
    calls = []

    def call():
        calls.append(1)
        if len(calls) < 4:
            raise TransientError("boom", status=500)
        return "done"

    assert retrying("reading", call, policy=policy) == "done"
    assert policy.waits == [0.5, 1.0, 2.0]  # jitter 0: pure doubling from the first wait


def test_retry_gives_up_with_one_clear_line(policy):
    def call():
        raise TransientError("service unavailable", status=503)

    with pytest.raises(BackendError) as info:
        retrying("creating the job", call, policy=policy)
    assert "creating the job failed after 4 attempts: service unavailable (HTTP 503)" in str(info.value)
    assert len(policy.waits) == 3


def test_retry_never_repeats_a_terminal_error(policy):
    calls = []

    def call():
        calls.append(1)
        raise ProviderError("Memory", "no quota", "insufficient_quota")

    with pytest.raises(ProviderError):
        retrying("creating", call, policy=policy)
    assert calls == [1] and policy.waits == []


def test_retry_after_is_capped_by_max_wait(policy):
    answers = [TransientError("later", retry_after=3600), "ok"]

    def call():
        item = answers.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    retrying("x", call, policy=policy)
    assert policy.waits == [8]


# -- exactly-once creation ------------------------------------------------------------------------------------
def test_lost_create_answer_is_found_not_created_twice(policy, monkeypatch):
    from ftx import hosted_retry
    from ftx.hosted_run import create_once

    monkeypatch.setattr(hosted_retry, "_default", policy)
    provider = MemoryProvider()
    provider.lose_create_answers = 1
    job, created = create_once(provider, _prepared("ftx-lost"), {"train": "f-1"}, "Memory")
    assert provider.creates == 1 and len(provider.jobs) == 1
    assert job.id == "job-1" and job.client_key == "ftx-lost"
    assert created is False  # recovered by looking, which the caller reports as "found existing"


def test_existing_job_with_the_key_is_adopted(policy, monkeypatch):
    from ftx import hosted_retry
    from ftx.hosted_run import create_once

    monkeypatch.setattr(hosted_retry, "_default", policy)
    provider = MemoryProvider()
    provider.jobs["job-7"] = {"key": "ftx-again", "polls": 0, "refs": {}, "cancelled": False}
    job, created = create_once(provider, _prepared("ftx-again"), {"train": "f"}, "Memory")
    assert (job.id, created, provider.creates) == ("job-7", False, 0)


def test_attempt_keys_skip_failed_and_cancelled_runs():
    from ftx.hosted_run import find_attempt
    from ftx.registry import Registry

    with Registry() as reg:
        assert find_attempt(reg, "ftx-a") == ("ftx-a", None)
        first = reg.create_run("r", "memory", {}, "h", client_key="ftx-a", status="failed")
        key, run = find_attempt(reg, "ftx-a")
        assert (key, run) == ("ftx-a-2", None)
        second = reg.create_run("r", "memory", {}, "h", client_key="ftx-a-2", status="running")
        key, run = find_attempt(reg, "ftx-a")
        assert key == "ftx-a-2" and run.id == second.id and run.id != first.id


# -- following --------------------------------------------------------------------------------------------------
def _session(provider: MemoryProvider, tmp_path, **run_fields):
    from ftx.hosted_watch import Session
    from ftx.registry import Registry

    reg = Registry()
    run = reg.create_run("demo", "memory", {}, "h", model="base-1", client_key="ftx-s", status="queued",
                         estimated_cost_usd=2.5, output_dir=str(tmp_path / "out"), extra={"connection": {}})
    provider.jobs["job-1"] = {"key": "ftx-s", "polls": 0, "refs": {}, "cancelled": False}
    reg.update_run(run.id, remote_job_id="job-1", **run_fields)
    return Session(MemoryBackend(provider), provider, reg, run.id)


def test_follow_records_model_metrics_and_actual_cost(tmp_path, monkeypatch, policy):
    from ftx import hosted_retry
    from ftx.hosted_watch import follow

    monkeypatch.setattr(hosted_retry, "_default", policy)
    monkeypatch.setenv("FTX_POLL_INTERVAL", "0")
    provider = MemoryProvider(steps=3)
    provider.flaky_reads = 1  # one connection reset mid-way is retried, not fatal
    session = _session(provider, tmp_path)
    outcome = follow(session, live=False)
    run = session.run
    assert outcome.status == "succeeded" and run.status == "succeeded"
    assert run.model == "tuned-1" and run.artifacts["fine_tuned_model"] == "tuned-1"
    assert run.actual_cost_usd == pytest.approx(3.0)  # 2M tokens at $1.5/1M
    rows = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3]
    assert (tmp_path / "out" / "results.csv").read_bytes() == b"step,loss\n1,1.0\n"
    assert run.metrics["trained_tokens"] == 2_000_000 and run.metrics["loss"] == pytest.approx(1 / 3)
    session.registry.close()


def test_follow_failure_is_recorded_and_raised_with_the_code(tmp_path, monkeypatch):
    from ftx.hosted_watch import check, follow

    monkeypatch.setenv("FTX_POLL_INTERVAL", "0")
    session = _session(MemoryProvider(steps=1, fail_with=("invalid_training_file", "bad line 3")), tmp_path)
    outcome = follow(session, live=False)
    assert session.run.status == "failed" and "invalid_training_file" in session.run.error
    with pytest.raises(ProviderError) as info:
        check(outcome, "Memory")
    assert str(info.value) == "Memory: job job-1 failed: bad line 3 (error code: invalid_training_file)"
    session.registry.close()


def test_ctrl_c_detaches_without_cancelling(tmp_path, monkeypatch, capsys):
    from ftx import hosted_watch
    from ftx.hosted_watch import follow

    monkeypatch.setenv("FTX_POLL_INTERVAL", "0")

    def interrupt(_seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(hosted_watch.time, "sleep", interrupt)
    provider = MemoryProvider(steps=5)
    session = _session(provider, tmp_path)
    outcome = follow(session, live=False)
    assert outcome.detached and not provider.jobs["job-1"]["cancelled"]
    assert session.run.status in ("queued", "running")
    err = capsys.readouterr().err
    assert f"ftx jobs wait {session.run_id}" in err and "keeps running" in err
    session.registry.close()


def test_events_are_recorded_once_across_polls(tmp_path, monkeypatch):
    from ftx.hosted_watch import sync

    provider = MemoryProvider(steps=5)
    provider.events_since = lambda job_id, last: (  # type: ignore[method-assign]
        [] if last == "2" else [RemoteEvent("1", 1.0, "info", "queued"), RemoteEvent("2", 2.0, "warn", "slow")])
    session = _session(provider, tmp_path)
    sync(session)
    sync(session)
    messages = [e.message for e in session.registry.events(session.run_id)]
    assert messages.count("Memory: queued") == 1 and messages.count("Memory: slow") == 1
    assert [e.level for e in session.registry.events(session.run_id) if e.message == "Memory: slow"] == ["warning"]
    session.registry.close()


def test_open_session_needs_a_remote_job(tmp_path):
    from ftx.hosted_watch import open_session
    from ftx.registry import Registry

    with Registry() as reg:
        run = reg.create_run("demo", "openai", {}, "h", client_key="k", status="uploading")
        with pytest.raises(BackendError) as info:
            open_session(reg, run)
    assert "has no remote job yet" in str(info.value)


def test_live_view_renders_progress_checkpoints_and_the_reattach_hint():
    import io

    from rich.console import Console

    from ftx.hosted import RemoteCheckpoint
    from ftx.hosted_view import JobView

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    job = RemoteJob("job-9", "running", "running", base_model="base-1")
    with JobView("Memory", "20261123-000000-abcd", live=True, console=console) as view:
        view.update(job, [RemoteEvent("1", 1.0, "info", "Fine-tuning job started"),
                          RemoteEvent("2", 2.0, "info", "Step 4/8", {"step": 4, "total_steps": 8, "loss": 0.5,
                                                                      "token_accuracy": 0.8, "eval_loss": 0.7})],
                    [RemoteCheckpoint("c1", 4, "tuned-1:ckpt-step-4")])
    text = out.getvalue()
    for expected in ("Memory job job-9", "running (step 4/8)", "loss 0.5", "token accuracy 0.8", "loss 0.7",
                     "1 (latest step 4: tuned-1:ckpt-step-4)", "Fine-tuning job started",
                     "ftx jobs wait 20261123-000000-abcd"):
        assert expected in text, expected


def test_retry_settings_come_from_the_environment_each_time(monkeypatch):
    from ftx.hosted_retry import default_policy

    monkeypatch.setenv("FTX_RETRY_ATTEMPTS", "2")
    monkeypatch.setenv("FTX_RETRY_WAIT", "0.25")
    monkeypatch.setenv("FTX_RETRY_MAX_WAIT", "3")
    policy = default_policy()
    assert (policy.attempts, policy.initial_wait, policy.max_wait) == (2, 0.25, 3.0)
    monkeypatch.setenv("FTX_RETRY_ATTEMPTS", "9")
    assert default_policy().attempts == 9


# -- every paid run is guarded and recorded, whatever its base class ----------------------------
class _PaidPlugin:
    """A plain (non-hosted) paid backend with a price, registered in-process."""

    def __init__(self):
        from ftx.backends import Backend
        from ftx.estimate import Estimate

        class Paid(Backend):
            name = "paidbox"
            paid = True
            runs = 0

            def run(self, recipe, plan):
                Paid.runs += 1
                return {"status": "succeeded"}

        class NotHosted(Backend):
            name = "fakehosted"
            hosted = True

        self.Paid, self.NotHosted, self.Estimate = Paid, NotHosted, Estimate

    def ftx_register_backends(self, register):
        register(self.Paid())

    def ftx_estimate(self, backend, recipe, data):
        return self.Estimate(backend="paidbox", model=recipe.model, cost_usd=0.5) if backend.name == "paidbox" else None


def _paid_recipe(tmp_path):
    (tmp_path / "t.jsonl").write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}]}) + "\n" for i in range(12)))
    path = tmp_path / "r.yaml"
    path.write_text("name: paid\nmodel: {paidbox: m, fakehosted: m}\ndata: {train: t.jsonl}\n", encoding="utf-8")
    return path


def test_a_paid_plain_backend_gets_the_cost_guard_and_a_registry_record(cli, tmp_path, capsys):
    from ftx import hookimpl
    from ftx.testing import register_plugin

    plugin = _PaidPlugin()
    hookimpl(plugin.ftx_register_backends.__func__)
    hookimpl(plugin.ftx_estimate.__func__)
    recipe = _paid_recipe(tmp_path)
    class Wrong:
        @hookimpl
        def ftx_register_backends(self, register):
            register(plugin.NotHosted())

    with register_plugin(plugin, "paid-plugin"), register_plugin(Wrong(), "wrong-plugin"):
        r = cli("run", recipe, "--backend", "paidbox", "--max-cost", "0.000001")
        assert r.exit_code == 3 and "exceeds --max-cost $1e-06; not launched" in r.stderr
        err = r.stderr
        r = cli("run", recipe, "--backend", "paidbox")  # no terminal, no --yes
        assert r.exit_code == 3 and "not launched without confirmation" in r.stderr
        assert plugin.Paid.runs == 0
        r = cli("run", recipe, "--backend", "paidbox", "--yes")
        assert r.exit_code == 0, r
        assert plugin.Paid.runs == 1
        runs = json.loads(cli("runs", "list", "--json").stdout)
        assert [(run["backend"], run["status"]) for run in runs] == [("paidbox", "succeeded")]
        assert ("backend 'fakehosted' declares hosted = True but is not a ftx.hosted.HostedBackend" in err
                and "plugin 'wrong-plugin' failed" in err)


def test_the_target_is_part_of_a_hosted_runs_identity(monkeypatch):
    from ftx.hosted import client_key_for, target_of

    file = UploadFile.build("train", b"x\n", 1)
    here = client_key_for("openai", "m", {"request": {}, "target": target_of({"base_url": "http://u:SECRET@a/v1"})},
                          [file])
    there = client_key_for("openai", "m", {"request": {}, "target": target_of({"base_url": "http://b/v1"})}, [file])
    assert here != there
    assert target_of({"base_url": "http://u:SECRET@a/v1", "api_key": "k"}) == {"base_url": "http://a/v1"}
    monkeypatch.setenv("FTX_KEY_NAMESPACE", "suite-2")
    assert client_key_for("openai", "m", {"request": {}, "target": {"base_url": "http://b/v1"}}, [file]) != there


def test_each_request_has_its_own_budget_and_the_deadline_stops_retrying(policy):
    from ftx.hosted.retry import retrying

    calls = {"a": 0, "b": 0}

    def flaky(name, failures):
        def fn():
            calls[name] += 1
            if calls[name] <= failures:
                raise TransientError("503", status=503)
            return name
        return fn

    # three requests of one logical step, each failing 3 times: 4 attempts each is enough
    assert [retrying("x", flaky(n, 3), policy=policy) for n in ("a", "b")] == ["a", "b"]
    clock = iter(range(0, 10_000, 100))
    late = RetryPolicy(attempts=100, initial_wait=1, max_wait=1, jitter=0, deadline_s=250,
                       sleep=lambda s: None, clock=lambda: float(next(clock)))
    with pytest.raises(BackendError, match="stopping at the 250s deadline"):
        retrying("reading", flaky("b", 10**6), policy=late)
