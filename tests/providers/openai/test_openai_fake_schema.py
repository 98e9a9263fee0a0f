"""The fake OpenAI server answers as the official OpenAPI spec says (and ftx's requests follow it),
so tests against the fake say something about the real API."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fakes.openapi_check import Validator, load_schemas
from openai_test_helpers import chat_lines, create_requests

ROOT = Path(__file__).resolve().parents[3]
SPEC = ROOT / ".." / "shared" / "reference" / "openai-openapi.yaml"
SCHEMAS = ["FineTuningJob", "FineTuningJobEvent", "FineTuningJobCheckpoint", "OpenAIFile", "ErrorResponse",
           "ListFilesResponse", "ListPaginatedFineTuningJobsResponse", "ListFineTuningJobEventsResponse",
           "ListFineTuningJobCheckpointsResponse", "DeleteFileResponse", "CreateFineTuningJobRequest",
           "FineTuneMethod"]


@pytest.fixture(scope="module")
def validator(request, tmp_path_factory) -> Validator:
    if not SPEC.is_file():
        pytest.skip(f"the OpenAI OpenAPI spec is not at {SPEC.resolve()} (shared/reference next to the repository)")
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    folder = cache.mkdir("ftx-openapi") if cache is not None else tmp_path_factory.mktemp("ftx-openapi")
    return Validator(load_schemas(SPEC, SCHEMAS, folder))


def test_the_validator_catches_violations(validator):
    good = {"error": {"message": "m", "type": "t", "param": None, "code": None}}
    assert validator.check(good, "ErrorResponse") == []
    assert validator.check({"error": {"message": "m", "type": "t", "code": None}}, "ErrorResponse") == \
        ["ErrorResponse.error: required property 'param' is missing"]
    event = {"object": "fine_tuning.job.event", "id": "e", "created_at": 1, "level": "debug", "message": "x"}
    assert validator.check(event, "FineTuningJobEvent") == ["FineTuningJobEvent.level: 'debug' not one of "
                                                            "['info', 'warn', 'error']"]
    request = {"model": "m", "training_file": "f", "method": {"type": "supervised", "supervised": {
        "hyperparameters": {"n_epochs": 0}}}}
    assert any("n_epochs" in e for e in validator.check(request, "CreateFineTuningJobRequest"))


def test_every_answer_of_the_fake_follows_the_spec(validator, fake_openai):
    import openai

    client = openai.OpenAI(api_key="sk-test", base_url=fake_openai.url, max_retries=0)
    train = client.files.create(file=("t.jsonl", chat_lines(40).encode(), "application/jsonl"), purpose="fine-tune")
    valid = client.files.create(file=("v.jsonl", chat_lines(10, 40).encode(), "application/jsonl"), purpose="fine-tune")
    client.files.list(purpose="fine-tune", limit=1)
    client.files.retrieve(train.id)
    kwargs = dict(model="gpt-4.1-nano-2025-04-14", training_file=train.id, validation_file=valid.id, seed=3,
                  suffix="demo", metadata={"ftx_client_key": "k"},
                  integrations=[{"type": "wandb", "wandb": {"project": "p"}}],
                  method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}})
    done = client.fine_tuning.jobs.create(**kwargs)
    dpo = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train.id,
                                         method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}})
    fake_openai.state.fail_next = (3, "training_failed", "boom")
    failed = client.fine_tuning.jobs.create(model="gpt-4.1-nano-2025-04-14", training_file=train.id)
    client.fine_tuning.jobs.cancel(dpo.id)
    client.fine_tuning.jobs.list(metadata={"ftx_client_key": "k"})
    deadline = time.monotonic() + 30
    while client.fine_tuning.jobs.retrieve(done.id).status != "succeeded":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    client.fine_tuning.jobs.retrieve(failed.id)
    client.fine_tuning.jobs.list(limit=2)
    page = client.fine_tuning.jobs.list_events(done.id, limit=3)
    client.fine_tuning.jobs.list_events(done.id, limit=3, after=page.data[-1].id)
    client.fine_tuning.jobs.checkpoints.list(done.id)
    client.files.content(client.fine_tuning.jobs.retrieve(done.id).result_files[0])
    for call in (lambda: client.fine_tuning.jobs.retrieve("ftjob-missing"),
                 lambda: client.fine_tuning.jobs.create(model="m", training_file="file-missing")):
        with pytest.raises(openai.APIStatusError):
            call()
    fake_openai.api_key = "sk-the-right-one"
    with pytest.raises(openai.AuthenticationError):
        client.files.list()
    fake_openai.api_key = None
    fake_openai.inject("GET", "/files", status=429, headers={"retry-after": "1"})
    with pytest.raises(openai.RateLimitError):
        client.files.list()
    client.files.delete(valid.id)

    seen = {schema for schema, _ in fake_openai.answers}
    assert {"FineTuningJob", "OpenAIFile", "ErrorResponse", "ListFilesResponse", "DeleteFileResponse",
            "ListPaginatedFineTuningJobsResponse", "ListFineTuningJobEventsResponse",
            "ListFineTuningJobCheckpointsResponse"} <= seen
    statuses = {body["status"] for schema, body in fake_openai.answers if schema == "FineTuningJob"}
    assert {"validating_files", "succeeded", "failed", "cancelled"} <= statuses
    problems = [f"{schema}: {error}" for schema, body in fake_openai.answers
                for error in validator.check(body, schema)]
    assert problems == []


def test_ftx_sends_requests_that_follow_the_spec(validator, fake_openai, cli, make_recipe):
    sft = make_recipe(extra="  batch_size: 4\n  learning_rate_multiplier: 0.5\nbackends:\n  openai:\n"
                            "    suffix: bot\n    metadata: {team: ml}\n    wandb_project: p\n")
    assert cli("run", sft, "--backend", "openai", "--yes").exit_code == 0
    dpo_data = "".join(json.dumps({"input": {"messages": [{"role": "user", "content": f"q{i}"}]},
                                   "preferred_output": [{"role": "assistant", "content": "good"}],
                                   "non_preferred_output": [{"role": "assistant", "content": "bad"}]}) + "\n"
                       for i in range(12))
    dpo = make_recipe(train=dpo_data, objective="dpo", name="pref")
    assert cli("run", dpo, "--backend", "openai", "--yes").exit_code == 0
    requests = create_requests(fake_openai)
    assert len(requests) == 2
    for body in requests:
        assert validator.check(body, "CreateFineTuningJobRequest") == []
