"""Vertex tuning jobs in ftx's words: states, tokens, errors, labels, derived events."""

from __future__ import annotations

import pytest

from ftx.providers.vertex.jobs import STATES, job_events, remote_job
from ftx.providers.vertex.prepare import label_text, label_value

NAME = "projects/p/locations/us-central1/tuningJobs/42"


def _job(**fields):
    """A TuningJob as google-genai parses Vertex's JSON (int64 fields arrive as strings)."""
    from google.genai import types

    return types.TuningJob._from_response(response={"name": NAME, **fields}, kwargs={})


def test_the_job_id_is_the_short_id():
    job = remote_job(_job(state="JOB_STATE_QUEUED"))
    assert job.id == "42" and job.raw["name"] == NAME


@pytest.mark.parametrize("state, status", [
    ("JOB_STATE_PENDING", "queued"), ("JOB_STATE_QUEUED", "queued"), ("JOB_STATE_RUNNING", "running"),
    ("JOB_STATE_CANCELLING", "running"), ("JOB_STATE_SUCCEEDED", "succeeded"), ("JOB_STATE_FAILED", "failed"),
    ("JOB_STATE_EXPIRED", "failed"), ("JOB_STATE_CANCELLED", "cancelled"), ("JOB_STATE_PAUSED", "queued"),
])
def test_states(state, status):
    job = remote_job(_job(state=state))
    assert (job.status, job.provider_status) == (status, state)
    assert job.finished == (status in ("succeeded", "failed", "cancelled"))


def test_every_vertex_state_is_mapped():
    from google.genai import types

    assert {s.value for s in types.JobState} == set(STATES)
    assert set(STATES.values()) <= {"queued", "running", "succeeded", "failed", "cancelled"}


def test_trained_tokens_are_billable_tokens_times_epochs():
    job = remote_job(_job(state="JOB_STATE_SUCCEEDED", base_model="gemini-2.5-flash",
                          supervised_tuning_spec={"hyper_parameters": {"epoch_count": "4"}},
                          tuning_data_stats={"supervised_tuning_data_stats": {
                              "total_billable_token_count": "12500", "tuning_dataset_example_count": "100",
                              "tuning_step_count": "40"}},
                          tuned_model={"model": "projects/p/locations/l/models/7@1",
                                       "endpoint": "projects/p/locations/l/endpoints/9",
                                       "checkpoints": [{"checkpoint_id": "2", "epoch": "2", "step": "20"},
                                                       {"checkpoint_id": "1", "epoch": "1", "step": "10"}]},
                          create_time="2026-11-23T07:00:00Z", end_time="2026-11-23T08:00:00Z"))
    assert job.trained_tokens == 50_000 and job.fine_tuned_model == "projects/p/locations/l/endpoints/9"
    assert job.finished_at - job.created_at == 3600
    assert job.progress == {"epochs": 4, "total_steps": 40, "examples": 100, "billable_tokens_per_epoch": 12500}
    from ftx.providers.vertex.provider import VertexProvider

    provider = VertexProvider.__new__(VertexProvider)
    assert provider.actual_cost(job) == pytest.approx(50_000 * 5.0 / 1e6)  # gemini-2.5-flash: $5 per 1M
    assert provider.final_metrics(job) == [{"step": 10, "epoch": 1}, {"step": 20, "epoch": 2}]


def test_without_epochs_the_cost_is_unknown_not_guessed():
    job = remote_job(_job(state="JOB_STATE_SUCCEEDED", base_model="gemini-2.5-flash",
                          tuning_data_stats={"supervised_tuning_data_stats": {"total_billable_token_count": "10"}}))
    assert job.trained_tokens is None


def test_failed_job_error_code_is_named():
    job = remote_job(_job(state="JOB_STATE_FAILED", error={"code": 8, "message": "Quota exceeded"}))
    assert (job.error_code, job.error_message) == ("RESOURCE_EXHAUSTED", "Quota exceeded")
    [event] = job_events(job)
    assert event.level == "error" and event.message == "RESOURCE_EXHAUSTED: Quota exceeded"


def test_events_have_stable_ids_and_only_new_ones_are_returned():
    from ftx.providers.vertex.provider import VertexProvider

    running = remote_job(_job(state="JOB_STATE_RUNNING", tuning_data_stats={"supervised_tuning_data_stats": {
        "total_billable_token_count": "300", "tuning_dataset_example_count": "12"}}))
    done = remote_job(_job(state="JOB_STATE_SUCCEEDED",
                           tuning_data_stats={"supervised_tuning_data_stats": {
                               "total_billable_token_count": "300", "tuning_dataset_example_count": "12",
                               "tuning_step_count": "6"}},
                           tuned_model={"endpoint": "e", "checkpoints": [{"checkpoint_id": "1", "step": "3"},
                                                                         {"checkpoint_id": "2", "step": "6"}]}))
    provider = VertexProvider.__new__(VertexProvider)
    provider._seen = {"42": running}
    [stats] = provider.events_since("42", None)
    assert stats.id == "stats" and stats.message == "tuning data: 12 examples, 300 billable tokens per epoch"
    provider._seen = {"42": done}
    new = provider.events_since("42", "stats")
    assert [e.id for e in new] == ["checkpoint-1", "checkpoint-2", "tuned-model"]
    assert new[1].metrics == {"step": 6, "total_steps": 6} and new[2].metrics is None
    assert provider.events_since("42", "tuned-model") == []


@pytest.mark.parametrize("key", ["ftx-0123456789abcdef01234567", "ftx-0123456789abcdef01234567.2", "Odd Key_9"])
def test_client_keys_travel_as_valid_labels(key):
    import re

    value = label_value(key)
    assert re.fullmatch(r"[a-z0-9_-]{0,63}", value)
    assert label_text(value) == key


def test_tune_arguments_map_every_key():
    from ftx.providers.vertex.provider import tune_arguments

    args = tune_arguments({"baseModel": "gemini-2.5-flash", "preferenceOptimizationSpec": {
        "trainingDatasetUri": "gs://b/t", "validationDatasetUri": "gs://b/v",
        "hyperParameters": {"epochCount": 2, "beta": 0.3, "adapterSize": "ADAPTER_SIZE_FOUR"}},
        "tunedModelDisplayName": "x", "labels": {"a": "b"}})
    config = args["config"]
    assert (config.method, config.epoch_count, config.beta, config.adapter_size.value) == (
        "PREFERENCE_TUNING", 2, 0.3, "ADAPTER_SIZE_FOUR")
    assert config.validation_dataset.gcs_uri == "gs://b/v" and args["training_dataset"].gcs_uri == "gs://b/t"
    with pytest.raises(AssertionError, match="outputUri"):
        tune_arguments({"baseModel": "m", "supervisedTuningSpec": {"trainingDatasetUri": "gs://b/t"},
                        "outputUri": "gs://b/o"})


def test_error_translation():
    from google.api_core import exceptions as core

    from ftx.hosted import ProviderError, TransientError
    from ftx.providers.vertex.errors import translate

    assert isinstance(translate(core.ServiceUnavailable("busy"), "GCS"), TransientError)
    assert isinstance(translate(core.TooManyRequests("slow down"), "GCS"), TransientError)
    assert isinstance(translate(ConnectionResetError("reset"), "GCS"), TransientError)
    forbidden = translate(core.Forbidden("no access"), "GCS")
    assert isinstance(forbidden, ProviderError) and "permission denied" in str(forbidden)
    bug = KeyError("x")
    assert translate(bug, "GCS") is bug  # a bug keeps its traceback
