"""Together AI as a :class:`ftx.hosted.HostedProvider`, through the official ``together`` SDK.

The SDK's own retries are off (``max_retries=0``): ftx retries each request (``ftx.hosted.retry``).
The create request is the body ``ftx run --dry-run`` showed, posted as it is through the SDK's
client (the SDK's ``fine_tuning.create`` rebuilds a body from keyword arguments and model limits).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Iterator

from ftx.errors import BackendError
from ftx.hosted import (HostedProvider, PreparedJob, ProviderError, RemoteCheckpoint, RemoteEvent, RemoteJob,
                        TransientError, UploadFile, classify_http, key_tag, unreachable)
from ftx.hosted.lookup import find_tagged

_STATUS = {"pending": "queued", "queued": "queued", "running": "running", "compressing": "running",
           "uploading": "running", "cancel_requested": "running", "cancelled": "cancelled", "error": "failed",
           "completed": "succeeded"}
_LEVEL = {"warning": "warning", "error": "error", "legacy_iwarning": "warning", "legacy_ierror": "error"}
_METRICS = {"train/loss": "loss", "eval/loss": "eval_loss", "train/global_step": "step",
            "train/learning_rate": "learning_rate", "train/epoch": "epoch"}


def _seconds(value: Any) -> float | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _dump(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    return obj.model_dump(mode="json") if hasattr(obj, "model_dump") else dict(obj)


def make_client(connection: dict[str, Any]) -> Any:
    try:
        import together
    except ImportError as exc:
        raise BackendError("the together package is not installed", hint="pip install 'ftx[together]'") from exc
    key = os.environ.get("TOGETHER_API_KEY")
    if not key:
        raise BackendError("TOGETHER_API_KEY is not set", hint="export TOGETHER_API_KEY=... (api.together.ai, Settings)")
    timeout = float(os.environ.get("FTX_HTTP_TIMEOUT", "60") or 60)
    return together.Together(api_key=key, base_url=connection.get("base_url") or None, max_retries=0, timeout=timeout)


class TogetherProvider(HostedProvider):
    label = "Together AI"
    poll_interval = 15.0
    backend = "together"  # whose price tables price a finished job (the default actual_cost)
    downloads = ("adapter", "merged")  # GET /v1/finetune/download?checkpoint=...; the first is the default

    def __init__(self, connection: dict[str, Any], client: Any = None):
        self.connection = connection
        self.client = client or make_client(connection)

    def translate(self, exc: Exception) -> Exception:
        import together

        if isinstance(exc, together.APITimeoutError):
            return TransientError(f"{self.label} did not answer in time")
        if isinstance(exc, together.APIConnectionError):
            return unreachable(self.label, exc)
        if isinstance(exc, together.APIStatusError):
            body = getattr(exc, "body", None)
            error = body.get("error") if isinstance(body, dict) else None
            message = error.get("message") if isinstance(error, dict) else str(exc)
            code = error.get("code") if isinstance(error, dict) else None
            return classify_http(self.label, exc.status_code, message, code, exc.response.headers,
                                 auth_hint="check TOGETHER_API_KEY")
        if isinstance(exc, together.TogetherError):
            return ProviderError(self.label, str(exc) or type(exc).__name__)
        return exc

    # -- files -------------------------------------------------------------------------------------
    def upload(self, file: UploadFile) -> str:
        """Uploaded through the SDK (it asks for an upload URL, PUTs the bytes, then has the file
        processed); a file of the same name and checksum already there is answered 409 with its
        id, which the SDK turns into that file, so a repeated upload costs nothing."""
        existing = find_tagged(None, lambda: [self.request(self.client.files.list).data],
                               lambda f: f.filename == file.filename and f.bytes == len(file.content))
        if existing is not None:
            return existing.id
        import tempfile  # here: registering the backend (every command) imports this module

        with tempfile.TemporaryDirectory(prefix="ftx-upload-") as tmp:
            path = Path(tmp) / file.filename
            path.write_bytes(file.content)
            return self.request(self.client.files.upload, file=path, purpose="fine-tune", check=False).id

    # -- jobs --------------------------------------------------------------------------------------
    def _job(self, obj: Any) -> RemoteJob:
        raw = _dump(obj)
        status = raw.get("status") or "pending"
        events = raw.get("events") or []
        error = next((e.get("message") for e in reversed(events) if e.get("type") == "job_error"), None)
        output = raw.get("model_output_name")
        return RemoteJob(
            id=raw["id"], status=_STATUS.get(status, "running"), provider_status=status, base_model=raw.get("model"),
            fine_tuned_model=output if status == "completed" else None, trained_tokens=raw.get("token_count"),
            error_code="job_error" if status == "error" else None,
            error_message=error if status == "error" else None, created_at=_seconds(raw.get("created_at")),
            finished_at=_seconds(raw.get("updated_at")) if status in ("completed", "error", "cancelled") else None,
            progress={k: v for k, v in (("epochs_completed", raw.get("epochs_completed")),
                                        ("n_epochs", raw.get("n_epochs"))) if v is not None},
            artifacts={"together_model": output} if output else {}, raw=raw)

    def find_job(self, client_key: str) -> RemoteJob | None:
        """Together keeps no job metadata: the key's tag is the end of the suffix, which Together
        puts in the job's ``model_output_name``; every job listed is checked for it."""
        tag = key_tag(client_key)
        found = find_tagged(None, lambda: [self.request(self.client.fine_tuning.list).data],
                            lambda job: tag in (_dump(job).get("model_output_name") or ""))
        return self._job(found) if found is not None else None

    def create_job(self, prepared: PreparedJob, refs: dict[str, str]) -> RemoteJob:
        return self._job(self.request(self.client.post, "/v1/fine-tunes", body=prepared.resolve(refs),
                                      cast_to=object, idempotent=False))

    def quote(self, prepared: PreparedJob, refs: dict[str, str]) -> dict[str, Any] | None:
        """Together's own estimate of the job (``POST /v1/fine-tunes/estimate-price``)."""
        request = prepared.resolve(refs)
        args = {k: request[k] for k in ("training_file", "validation_file", "model", "n_epochs", "n_evals",
                                        "training_method", "training_type") if k in request}
        raw = _dump(self.request(self.client.fine_tuning.estimate_price, **args))
        price = raw.get("estimated_total_price")
        return None if price is None else {"cost_usd": float(price), "allowed": raw.get("allowed_to_proceed"),
                                           "tokens": raw.get("estimated_train_token_count")}

    def get_job(self, job_id: str) -> RemoteJob:
        return self._job(self.request(self.client.fine_tuning.retrieve, job_id))

    def list_jobs(self, limit: int = 20) -> list[RemoteJob]:
        return [self._job(j) for j in self.request(self.client.fine_tuning.list).data[:limit]]

    def cancel_job(self, job_id: str) -> RemoteJob:
        self.request(self.client.fine_tuning.cancel, job_id)
        return self.get_job(job_id)

    def events_since(self, job_id: str, last_event_id: str | None) -> list[RemoteEvent]:
        """Together's events carry no id: their place in the job's (append-only) list is one."""
        events = [_dump(e) for e in self.request(self.client.fine_tuning.list_events, job_id).data]
        start = int(last_event_id) + 1 if last_event_id and last_event_id.isdigit() else 0
        return [RemoteEvent(str(i), _seconds(e.get("created_at")) or 0.0, _LEVEL.get(e.get("level") or "", "info"),
                            e.get("message") or "", None) for i, e in enumerate(events) if i >= start]

    def checkpoints(self, job_id: str) -> list[RemoteCheckpoint]:
        data = [_dump(c) for c in self.request(self.client.fine_tuning.list_checkpoints, job_id).data]
        return sorted((RemoteCheckpoint(c.get("path") or str(c.get("step")), int(c.get("step") or 0),
                                        c.get("path") or "") for c in data), key=lambda c: c.step)

    # -- results -----------------------------------------------------------------------------------
    def final_metrics(self, job: RemoteJob) -> list[dict[str, Any]]:
        raw = _dump(self.request(self.client.fine_tuning.list_metrics, job.id))
        rows = []
        for snapshot in raw.get("metrics") or []:
            row = {_METRICS[k]: v for k, v in snapshot.items() if k in _METRICS}
            if "step" in row:
                row["step"] = int(row["step"])
                rows.append(row)
        return sorted(rows, key=lambda r: r["step"])

    def download_refusal(self, job: RemoteJob, checkpoint: str) -> str | None:
        """A full fine-tune (``training_type.type: Full``) trained every weight: it has no adapter."""
        kind = str((job.raw.get("training_type") or {}).get("type") or "")
        if checkpoint == "adapter" and kind.lower() == "full":
            return (f"job {job.id} was full fine-tuning (training_type {kind}): it has no adapter, only the whole "
                    "model (--checkpoint merged)")
        return None

    def download(self, job: RemoteJob, checkpoint: str, step: int | None = None) -> Iterator[bytes]:
        """``GET /v1/finetune/download`` through the SDK's streaming response, a MiB at a time."""
        import httpx

        args: dict[str, Any] = {"ft_id": job.id, "checkpoint": checkpoint}
        if step is not None:
            args["checkpoint_step"] = step  # Together then serves that step's checkpoint
        content = self.client.fine_tuning.with_streaming_response.content
        response = self.request(lambda: content(**args).__enter__(),
                                what=f"asking {self.label} for the {checkpoint} of job {job.id}")
        try:
            yield from response.iter_bytes(1 << 20)
        except httpx.TransportError as exc:  # the stream broke off: the core downloads again from the start
            raise TransientError(f"the download from {self.label} broke off: {type(exc).__name__}: {exc}") from None
        finally:
            response.close()

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if callable(close):
            close()
