"""OpenAI (and Azure OpenAI) as a :class:`ftx.hosted.HostedProvider`, through the ``openai`` SDK."""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ftx.hosted import (CLIENT_KEY_FIELD, HostedProvider, PreparedJob, ProviderError, RemoteCheckpoint,
                        RemoteEvent, RemoteJob, TransientError, UploadFile)
from ftx.hosted.lookup import MAX_PAGES, cursor_pages, find_tagged

from .client import make_client, translate
from .results import metrics_rows, normalise_metrics

_STATUS = {"validating_files": "queued", "queued": "queued", "running": "running", "paused": "queued",
           "pausing": "running", "succeeded": "succeeded", "failed": "failed", "cancelled": "cancelled"}
_LEVEL = {"warn": "warning", "warning": "warning", "error": "error", "info": "info"}


def _dump(obj: Any) -> dict[str, Any]:
    return obj.model_dump(mode="json") if hasattr(obj, "model_dump") else dict(obj)


def _float_env(name: str, default: float) -> float:
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return default


class OpenAIProvider(HostedProvider):
    """One connection to OpenAI (``backend="openai"``) or Azure OpenAI (``"azure-openai"``)."""

    label = "OpenAI"
    poll_interval = 10.0

    def __init__(self, backend: str, connection: dict[str, Any], client: Any = None):
        self.backend = backend
        self.connection = connection
        self.client = client or make_client(backend, connection)
        self._results: dict[str, dict[str, bytes]] = {}

    def translate(self, exc: Exception) -> Exception:
        return translate(exc, self.label)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.request(fn, *args, **kwargs)

    # -- files -------------------------------------------------------------------------------------
    def _scope(self) -> str:
        """The endpoint uploads are cached under, with any credentials in its URL digested."""
        from ftx.redact import url_scope

        return url_scope(self.connection.get("endpoint") or self.connection.get("base_url") or "https://api.openai.com/v1")

    def _cache(self) -> tuple[Any, dict[str, Any]]:
        from ftx.home import ftx_home

        path = ftx_home() / "cache" / "openai-files.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        return path, data if isinstance(data, dict) else {}

    def _remember(self, file: UploadFile, file_id: str) -> None:
        from ftx.data.atomic import atomic_write

        path, data = self._cache()
        data.setdefault(self._scope(), {})[file.sha256] = file_id
        with atomic_write(path) as handle:
            json.dump(data, handle, indent=1, sort_keys=True)

    def _usable(self, obj: Any, file: UploadFile) -> bool:
        return (getattr(obj, "filename", None) == file.filename and getattr(obj, "bytes", None) == len(file.content)
                and getattr(obj, "status", None) != "error" and getattr(obj, "purpose", "fine-tune") == "fine-tune")

    def _find_uploaded(self, file: UploadFile) -> str | None:
        """A file with the same content already at the provider: from the local cache (checked
        to still exist), else by listing files for the hash-bearing name."""
        _, data = self._cache()
        cached = data.get(self._scope(), {}).get(file.sha256)
        if cached:
            try:
                if self._usable(self.request(self.client.files.retrieve, cached, idempotent=False), file):
                    return cached
            except (ProviderError, TransientError):
                pass  # gone, or unreachable: the listing below decides (a real outage surfaces there)
        pages = cursor_pages(lambda after: self._call(self.client.files.list, purpose="fine-tune", limit=100,
                                                      **({"after": after} if after else {})))
        found = find_tagged(None, lambda: pages, lambda obj: self._usable(obj, file))
        return found.id if found is not None else None

    def upload(self, file: UploadFile) -> str:
        file_id = self._find_uploaded(file)
        if file_id is None:
            # Not repeated on its own: a lost answer is found by name on the next try of upload().
            obj = self.request(self.client.files.create, file=(file.filename, file.content, "application/jsonl"),
                               purpose="fine-tune", idempotent=False)
            file_id = obj.id
        self._wait_processed(file_id, file)
        self._remember(file, file_id)
        return file_id

    def _wait_processed(self, file_id: str, file: UploadFile) -> None:
        deadline = time.monotonic() + _float_env("FTX_UPLOAD_TIMEOUT", 1800)
        interval = min(_float_env("FTX_POLL_INTERVAL", 2.0), 2.0)
        while True:
            obj = self._call(self.client.files.retrieve, file_id)
            status = getattr(obj, "status", None) or "processed"
            if status == "processed":
                return
            if status == "error":
                raise ProviderError(self.label, f"{file.role} file {file_id} ({file.filename}) was rejected: "
                                               f"{getattr(obj, 'status_details', None) or 'no details given'}",
                                    "invalid_file")
            if time.monotonic() > deadline:
                raise TransientError(f"{file.role} file {file_id} is still {status}")
            time.sleep(interval)

    # -- jobs --------------------------------------------------------------------------------------
    def _job(self, obj: Any) -> RemoteJob:
        raw = _dump(obj)
        err = raw.get("error") or {}
        hyper = raw.get("hyperparameters") or {}
        method = raw.get("method") or {}
        for kind in ("supervised", "dpo"):
            hyper = ((method.get(kind) or {}).get("hyperparameters") or hyper)
        progress = {k: v for k, v in (("estimated_finish", raw.get("estimated_finish")),
                                      ("n_epochs", hyper.get("n_epochs"))) if v is not None}
        return RemoteJob(
            id=raw["id"], status=_STATUS.get(raw.get("status") or "", "running"),
            provider_status=raw.get("status") or "unknown", base_model=raw.get("model"),
            fine_tuned_model=raw.get("fine_tuned_model"), trained_tokens=raw.get("trained_tokens"),
            error_code=err.get("code") or None, error_message=err.get("message") or None,
            client_key=(raw.get("metadata") or {}).get(CLIENT_KEY_FIELD), created_at=raw.get("created_at"),
            finished_at=raw.get("finished_at"), progress=progress, raw=raw)

    def find_job(self, client_key: str) -> RemoteJob | None:
        jobs = self.client.fine_tuning.jobs

        def pages(**query: Any) -> Any:
            return cursor_pages(lambda after: self._call(jobs.list, limit=100, **query,
                                                         **({"after": after} if after else {})))

        def refused(exc: Exception) -> bool:  # a service without the metadata filter (some Azure API versions)
            return getattr(exc, "status", None) == 400

        found = find_tagged(lambda: pages(metadata={CLIENT_KEY_FIELD: client_key}), pages,
                            lambda obj: (getattr(obj, "metadata", None) or {}).get(CLIENT_KEY_FIELD) == client_key,
                            refused=refused, max_pages=MAX_PAGES)
        return self._job(found) if found is not None else None

    def create_job(self, prepared: PreparedJob, refs: dict[str, str]) -> RemoteJob:
        request = prepared.resolve(refs)
        request["metadata"] = {**(request.get("metadata") or {}), CLIENT_KEY_FIELD: prepared.client_key}
        return self._job(self.request(self.client.fine_tuning.jobs.create, **request, idempotent=False))

    def get_job(self, job_id: str) -> RemoteJob:
        return self._job(self._call(self.client.fine_tuning.jobs.retrieve, job_id))

    def list_jobs(self, limit: int = 20) -> list[RemoteJob]:
        return [self._job(o) for o in self._call(self.client.fine_tuning.jobs.list, limit=limit).data]

    def cancel_job(self, job_id: str) -> RemoteJob:
        return self._job(self._call(self.client.fine_tuning.jobs.cancel, job_id))

    def events_since(self, job_id: str, last_event_id: str | None) -> list[RemoteEvent]:
        """OpenAI lists events newest first; read pages back until the last one seen."""
        jobs = self.client.fine_tuning.jobs
        found: list[RemoteEvent] = []
        pages = cursor_pages(lambda after: self._call(jobs.list_events, job_id, limit=100,
                                                      **({"after": after} if after else {})))
        for n, page in enumerate(pages):
            for obj in page:
                if obj.id == last_event_id:
                    return found[::-1]
                raw = _dump(obj)
                metrics = normalise_metrics(raw.get("data") or {}) if raw.get("type") == "metrics" else None
                found.append(RemoteEvent(raw["id"], raw.get("created_at") or 0, _LEVEL.get(raw.get("level"), "info"),
                                         raw.get("message") or "", metrics or None))
            if n + 1 >= MAX_PAGES:
                break
        return found[::-1]

    def checkpoints(self, job_id: str) -> list[RemoteCheckpoint]:
        page = self._call(self.client.fine_tuning.jobs.checkpoints.list, job_id, limit=100)
        return sorted((RemoteCheckpoint(c.id, c.step_number, c.fine_tuned_model_checkpoint,
                                        normalise_metrics(_dump(c.metrics) if c.metrics else {}))
                       for c in page.data), key=lambda c: c.step)

    # -- results -------------------------------------------------------------------------------------
    def result_files(self, job: RemoteJob) -> dict[str, bytes]:
        if job.id not in self._results:
            files: dict[str, bytes] = {}
            for file_id in job.raw.get("result_files") or ():
                files[f"{file_id}.csv"] = self._call(self.client.files.content, file_id).content
            self._results[job.id] = files
        return self._results[job.id]

    def final_metrics(self, job: RemoteJob) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for content in self.result_files(job).values():
            rows.extend(metrics_rows(content, job.progress.get("n_epochs")))
        return rows

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if callable(close):
            close()


class AzureOpenAIProvider(OpenAIProvider):
    """Azure OpenAI: the same calls through the SDK's ``AzureOpenAI`` client."""

    label = "Azure OpenAI"
