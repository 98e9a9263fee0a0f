"""Vertex AI as a :class:`ftx.hosted.HostedProvider`: google-genai for tuning jobs, Cloud Storage
for the data. Each method is one logical call; the core retries those that raise
:class:`ftx.hosted.TransientError` (the SDKs' own retries are off).
"""

from __future__ import annotations

import warnings
from typing import Any

from ftx.hosted import (CLIENT_KEY_FIELD, HostedProvider, PreparedJob, ProviderError, RemoteCheckpoint, RemoteEvent,
                        RemoteJob, UploadFile)

from .errors import translate
from .jobs import checkpoints_of, job_events, remote_job
from .prepare import label_value

LABEL = "Vertex AI"
_MAX_PAGES = 20  # bounds a label search when a server ignores the filter: 20 pages x 100 jobs
# CreateTuningJobConfig fields, by the REST key they become in ``hyperParameters``.
_HYPER = {"epochCount": "epoch_count", "learningRateMultiplier": "learning_rate_multiplier",
          "adapterSize": "adapter_size", "beta": "beta"}
_SPECS = {"supervisedTuningSpec": "SUPERVISED_FINE_TUNING", "preferenceOptimizationSpec": "PREFERENCE_TUNING"}


def tune_arguments(request: dict[str, Any]) -> dict[str, Any]:
    """The ``client.tunings.tune(...)`` arguments that make google-genai send ``request``.

    Every key is mapped; one that is not is a bug here, so it raises instead of being dropped."""
    from google.genai import types

    body = dict(request)
    base_model = body.pop("baseModel")
    (spec_key,) = [k for k in _SPECS if k in body]
    spec = dict(body.pop(spec_key))
    config: dict[str, Any] = {"method": _SPECS[spec_key]}
    training = types.TuningDataset(gcs_uri=spec.pop("trainingDatasetUri"))
    if "validationDatasetUri" in spec:
        config["validation_dataset"] = types.TuningValidationDataset(gcs_uri=spec.pop("validationDatasetUri"))
    for key, value in (spec.pop("hyperParameters", None) or {}).items():
        config[_HYPER[key]] = value
    for key, name in (("tunedModelDisplayName", "tuned_model_display_name"), ("description", "description"),
                      ("labels", "labels")):
        if key in body:
            config[name] = body.pop(key)
    if body or spec:
        raise AssertionError(f"request keys with no google-genai mapping: {sorted(body) + sorted(spec)}")
    return {"base_model": base_model, "training_dataset": training, "config": types.CreateTuningJobConfig(**config)}


class VertexProvider(HostedProvider):
    """One connection to Vertex AI (a project and region) and its staging bucket."""

    label = LABEL
    poll_interval = 30.0  # tuning jobs take tens of minutes; FTX_POLL_INTERVAL overrides
    backend = "vertex"  # whose price tables price a finished job (the default actual_cost)

    def __init__(self, connection: dict[str, Any], genai_client: Any = None, storage_client: Any = None):
        from .config import credentials, make_genai_client, make_storage_client

        self.connection = connection
        creds = None if genai_client is not None and storage_client is not None else credentials()
        self.client = genai_client or make_genai_client(connection, creds)
        self.storage = storage_client or make_storage_client(connection, creds)
        self._seen: dict[str, RemoteJob] = {}  # job id -> the latest snapshot read

    def translate(self, exc: Exception) -> Exception:
        return translate(exc, self.label)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.request(fn, *args, **kwargs)

    def _job(self, obj: Any) -> RemoteJob:
        job = remote_job(obj)
        self._seen[job.id] = job
        return job

    def _name(self, job_id: str) -> str:
        """The job's resource name: ftx records the short id (``1234...``), Vertex wants
        ``projects/P/locations/L/tuningJobs/ID``; a full name passes through."""
        if "/" in job_id:
            return job_id
        return f"projects/{self.connection['project']}/locations/{self.connection['location']}/tuningJobs/{job_id}"

    # -- data ------------------------------------------------------------------------------------
    def upload(self, file: UploadFile) -> str:
        from ftx.errors import BackendError

        from .staging import stage

        if not self.connection.get("bucket"):
            raise BackendError("no staging bucket: set FTX_VERTEX_BUCKET or backends.vertex.bucket")
        uri, _ = stage(self.storage, self.connection["bucket"], self.connection.get("prefix") or "", file)
        return uri

    # -- jobs ------------------------------------------------------------------------------------
    def find_job(self, client_key: str) -> RemoteJob | None:
        from ftx.hosted.lookup import find_tagged

        value = label_value(client_key)

        def pages(config: dict[str, Any]) -> Any:
            pager = self._call(self.client.tunings.list, config=config)
            while True:
                yield list(pager.page)
                try:
                    self._call(pager.next_page)
                except IndexError:
                    return

        found = find_tagged(lambda: pages({"filter": f'labels.{CLIENT_KEY_FIELD}="{value}"', "page_size": 100}),
                            lambda: pages({"page_size": 100}),
                            lambda obj: (obj.labels or {}).get(CLIENT_KEY_FIELD) == value,
                            # an endpoint that does not take this filter: list everything, match here
                            refused=lambda exc: getattr(exc, "code", None) == "INVALID_ARGUMENT",
                            max_pages=_MAX_PAGES)
        return self._job(found) if found is not None else None

    def create_job(self, prepared: PreparedJob, refs: dict[str, str]) -> RemoteJob:
        request = prepared.resolve(refs)
        request["labels"] = {**(request.get("labels") or {}), CLIENT_KEY_FIELD: label_value(prepared.client_key)}
        with warnings.catch_warnings():  # google-genai flags its tuning module as experimental on every call
            warnings.simplefilter("ignore")
            return self._job(self.request(self.client.tunings.tune, **tune_arguments(request), idempotent=False))

    def get_job(self, job_id: str) -> RemoteJob:
        return self._job(self._call(self.client.tunings.get, name=self._name(job_id)))

    def list_jobs(self, limit: int = 20) -> list[RemoteJob]:
        pager = self._call(self.client.tunings.list, config={"page_size": max(1, min(limit, 100))})
        return [self._job(obj) for obj in pager.page[:limit]]

    def cancel_job(self, job_id: str) -> RemoteJob:
        self._call(self.client.tunings.cancel, name=self._name(job_id))
        return self.get_job(job_id)

    def events_since(self, job_id: str, last_event_id: str | None) -> list[RemoteEvent]:
        """Vertex keeps no event log for tuning jobs: ftx derives events from the job itself
        (data statistics, checkpoints, the error), each with a stable id."""
        job = self._seen.get(job_id.rsplit("/", 1)[-1]) or self.get_job(job_id)
        events = job_events(job)
        ids = [e.id for e in events]
        return events[ids.index(last_event_id) + 1:] if last_event_id in ids else events

    def checkpoints(self, job_id: str) -> list[RemoteCheckpoint]:
        job = self._seen.get(job_id.rsplit("/", 1)[-1]) or self.get_job(job_id)
        return checkpoints_of(job)

    # -- results ---------------------------------------------------------------------------------
    def result_files(self, job: RemoteJob) -> dict[str, bytes]:
        """``tuned_model.json``: the tuned model, its endpoint and checkpoints (what to deploy or call)."""
        import json

        tuned = job.raw.get("tuned_model")
        if not tuned:
            return {}
        return {"tuned_model.json": json.dumps(tuned, indent=2, sort_keys=True).encode()}

    def final_metrics(self, job: RemoteJob) -> list[dict[str, Any]]:
        """One row per checkpoint (step, epoch): Vertex publishes loss curves only to the job's
        Vertex AI Experiment, which ftx does not read."""
        return [{"step": c.step, **c.metrics} for c in checkpoints_of(job)]

    def close(self) -> None:
        for client in (self.client, self.storage):
            close = getattr(client, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # closing is best effort; a half-open client must not mask the outcome
                    pass
