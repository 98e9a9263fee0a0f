"""Fireworks AI as a :class:`ftx.hosted.HostedProvider`, over its REST API with httpx.

Data goes up as datasets named after their content hash (create the dataset, upload its file,
wait until it is ``READY``); jobs are created under a name derived from the idempotency key, so
finding a job is reading it by name. httpx does no retries of its own: ftx retries each request.
A succeeded job's tuned model (``outputModel``) is downloaded as the files
``getDownloadEndpoint`` lists, each from its signed URL without the API key (:mod:`.download`;
the response shape, ``filenameToSignedUrls``, is the official SDK's: ``fireworks-ai`` 1.2.30,
``fireworks/types/model_get_download_endpoint_response.py``).
"""

from __future__ import annotations

import os
import time
from typing import Any

from ftx.errors import BackendError
from ftx.hosted import (HostedProvider, PreparedJob, ProviderError, RemoteFile, RemoteJob, TransientError,
                        UploadFile, classify_http, key_tag, unreachable)
from ftx.hosted.lookup import first_match

_STATUS = {"JOB_STATE_CREATING": "queued", "JOB_STATE_PENDING": "queued", "JOB_STATE_VALIDATING": "queued",
           "JOB_STATE_RUNNING": "running", "JOB_STATE_WRITING_RESULTS": "running", "JOB_STATE_COMPLETED": "succeeded",
           "JOB_STATE_FAILED": "failed", "JOB_STATE_CANCELLED": "cancelled", "JOB_STATE_CANCELLING": "running",
           "JOB_STATE_EXPIRED": "failed"}
KINDS = ("supervisedFineTuningJobs", "dpoJobs")
_ID_PARAM = {"supervisedFineTuningJobs": "supervisedFineTuningJobId", "dpoJobs": "dpoJobId"}


class FireworksProvider(HostedProvider):
    label = "Fireworks AI"
    poll_interval = 15.0
    # A tuned model's files (its LoRA adapter), from signed URLs: see .download (the SDK source of the shape).
    downloads = ("adapter",)
    backend = "fireworks"  # whose price tables price a finished job (the default actual_cost)

    def __init__(self, connection: dict[str, Any], client: Any = None):
        import httpx

        key = os.environ.get("FIREWORKS_API_KEY")
        if client is None and not key:
            raise BackendError("FIREWORKS_API_KEY is not set", hint="export FIREWORKS_API_KEY=... (fireworks.ai, API keys)")
        if not connection.get("account"):
            raise BackendError("no Fireworks account: set FIREWORKS_ACCOUNT_ID or backends.fireworks.account")
        self.connection = connection
        self.account = connection["account"]
        self._storage: Any = None  # the signed URLs' client: no Authorization header (see storage_client)
        self.client = client or httpx.Client(base_url=connection.get("base_url") or "https://api.fireworks.ai",
                                             headers={"Authorization": f"Bearer {key}"},
                                             timeout=float(os.environ.get("FTX_HTTP_TIMEOUT", "60") or 60))

    # -- HTTP --------------------------------------------------------------------------------------
    def translate(self, exc: Exception) -> Exception:
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            return TransientError(f"{self.label} did not answer in time")
        if isinstance(exc, httpx.TransportError):
            return unreachable(self.label, exc)
        if isinstance(exc, httpx.HTTPStatusError):
            response = exc.response
            try:
                body = response.json()
            except ValueError:
                body = {}
            error = body.get("error", body) if isinstance(body, dict) else {}
            message = error.get("message") if isinstance(error, dict) else None
            code = error.get("status") or error.get("code") if isinstance(error, dict) else None
            return classify_http(self.label, response.status_code, message or response.text[:200],
                                 str(code) if code is not None else None, response.headers,
                                 auth_hint="check FIREWORKS_API_KEY")
        return exc

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        """``path`` under the account (``datasets/ID``), or from the API's root (``/v1/...``)."""
        url = path if path.startswith("/v1/") else f"/v1/accounts/{self.account}/{path}"
        response = self.client.request(method, url, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else {}

    def _get(self, path: str, **params: Any) -> Any:
        return self.request(self._send, "GET", path, params=params or None, what=f"reading {path} on {self.label}")

    def _get_or_none(self, path: str) -> Any:
        try:
            return self._get(path)
        except ProviderError as exc:
            if exc.status == 404:
                return None
            raise

    # -- data --------------------------------------------------------------------------------------
    def upload(self, file: UploadFile) -> str:
        dataset_id = file.filename.removesuffix(".jsonl").lower()  # ftx-<hash>-train: the content's name
        name = f"accounts/{self.account}/datasets/{dataset_id}"
        dataset = self._get_or_none(f"datasets/{dataset_id}")
        if dataset is None:
            try:
                self.request(self._send, "POST", "datasets", json={
                    "datasetId": dataset_id, "dataset": {"displayName": file.filename, "exampleCount": str(file.examples),
                                                         "userUploaded": {}}}, idempotent=False)
            except ProviderError as exc:
                if exc.status != 409:  # made by an earlier try whose answer was lost: fine
                    raise
            dataset = self._get(f"datasets/{dataset_id}")
        if dataset.get("state") != "READY":
            self.request(self._send, "POST", f"datasets/{dataset_id}:upload",
                         files={"file": (file.filename, file.content, "application/jsonl")})
            self._wait_ready(dataset_id)
        return name

    def _wait_ready(self, dataset_id: str) -> None:
        deadline = time.monotonic() + float(os.environ.get("FTX_UPLOAD_TIMEOUT", "1800") or 1800)
        while True:
            state = self._get(f"datasets/{dataset_id}").get("state")
            if state == "READY":
                return
            if time.monotonic() > deadline:
                raise TransientError(f"dataset {dataset_id} is still {state}")
            time.sleep(min(float(os.environ.get("FTX_POLL_INTERVAL", "2") or 2), 2.0))

    # -- jobs --------------------------------------------------------------------------------------
    def _job(self, raw: dict[str, Any]) -> RemoteJob:
        state = raw.get("state") or "JOB_STATE_CREATING"
        status = _STATUS.get(state, "running")
        training = raw.get("trainingConfig") or raw
        model = training.get("outputModel") or raw.get("outputModel")
        error = raw.get("status") or {}
        return RemoteJob(id=raw["name"], status=status, provider_status=state, base_model=training.get("baseModel"),
                         fine_tuned_model=model if status == "succeeded" else None,
                         trained_tokens=raw.get("trainedTokens"),
                         error_code=error.get("code") if status == "failed" else None,
                         error_message=error.get("message") if status == "failed" else None,
                         artifacts={"fireworks_model": model} if model else {}, raw=raw)

    def find_job(self, client_key: str) -> RemoteJob | None:
        """The job is named after the key: read it by name in each job collection."""
        tag = key_tag(client_key)
        found = first_match(([self._get_or_none(f"{kind}/{tag}")] for kind in KINDS), lambda raw: raw is not None)
        return self._job(found) if found is not None else None

    def create_job(self, prepared: PreparedJob, refs: dict[str, str]) -> RemoteJob:
        request = prepared.resolve(refs)
        kind, job_id = request["kind"], request["jobId"]
        body = dict(request["body"])
        try:
            raw = self.request(self._send, "POST", kind, params={_ID_PARAM[kind]: job_id}, json=body, idempotent=False)
        except ProviderError as exc:
            if exc.status != 409:
                raise
            raw = self._get(f"{kind}/{job_id}")  # Fireworks refused a second job of the same name: it exists
        return self._job(raw)

    def _kind_path(self, job_id: str) -> str:
        return job_id.split(f"accounts/{self.account}/", 1)[-1]

    def get_job(self, job_id: str) -> RemoteJob:
        return self._job(self._get(self._kind_path(job_id)))

    def list_jobs(self, limit: int = 20) -> list[RemoteJob]:
        jobs = [self._job(raw) for kind in KINDS for raw in self._get(kind, pageSize=min(limit, 100)).get(kind) or []]
        return sorted(jobs, key=lambda j: str(j.raw.get("createTime") or ""), reverse=True)[:limit]

    def cancel_job(self, job_id: str) -> RemoteJob:
        self.request(self._send, "POST", f"{self._kind_path(job_id)}:cancel", json={})
        return self.get_job(job_id)

    # -- the tuned model's files ------------------------------------------------------------------
    def download_refusal(self, job: RemoteJob, checkpoint: str) -> str | None:
        from .download import refusal

        return refusal(job)

    def download_files(self, job: RemoteJob, checkpoint: str, step: int | None = None) -> list[RemoteFile]:
        """``getDownloadEndpoint`` of the job's ``outputModel``: its files, from signed URLs."""
        from .download import list_files

        return list_files(self, job, step)

    def storage_client(self) -> Any:
        """The client the signed URLs are fetched with: a separate one, without the API key."""
        if self._storage is None:
            import httpx

            self._storage = httpx.Client(timeout=float(os.environ.get("FTX_HTTP_TIMEOUT", "60") or 60),
                                         follow_redirects=True)
        return self._storage

    def close(self) -> None:
        self.client.close()
        if self._storage is not None:
            self._storage.close()

