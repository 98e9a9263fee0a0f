"""Vertex AI tuning jobs in ftx's words: states, trained tokens, checkpoints, derived events.

A job's ftx id is the last part of its resource name (``projects/P/locations/L/tuningJobs/ID``);
the project and region are stored with the run, and ``raw["name"]`` keeps the full name.

Trained tokens: Vertex reports ``tuningDataStats.*.totalBillableTokenCount``, the billable
tokens of the training dataset (one pass); a job trains ``hyperParameters.epochCount`` passes,
so trained tokens = billable tokens x epochs, which is what Vertex bills.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ftx.hosted import CLIENT_KEY_FIELD, RemoteCheckpoint, RemoteEvent, RemoteJob

from .errors import RPC_CODES

#: Vertex job state -> ftx status. CANCELLING is still running (and billed) until CANCELLED.
STATES = {
    "JOB_STATE_UNSPECIFIED": "queued",
    "JOB_STATE_QUEUED": "queued",
    "JOB_STATE_PENDING": "queued",
    "JOB_STATE_PAUSED": "queued",
    "JOB_STATE_RUNNING": "running",
    "JOB_STATE_UPDATING": "running",
    "JOB_STATE_CANCELLING": "running",
    "JOB_STATE_SUCCEEDED": "succeeded",
    "JOB_STATE_PARTIALLY_SUCCEEDED": "succeeded",
    "JOB_STATE_FAILED": "failed",
    "JOB_STATE_EXPIRED": "failed",
    "JOB_STATE_CANCELLED": "cancelled",
}
_SPECS = ("supervised_tuning_spec", "preference_optimization_spec")
_STATS = ("supervised_tuning_data_stats", "preference_optimization_data_stats")


def _dump(obj: Any) -> dict[str, Any]:
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", exclude_none=True, exclude={"sdk_http_response"})
    return dict(obj)


def _seconds(value: Any) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _spec(raw: dict[str, Any]) -> dict[str, Any]:
    return next((raw[k] for k in _SPECS if raw.get(k)), {})


def _stats(raw: dict[str, Any]) -> dict[str, Any]:
    stats = raw.get("tuning_data_stats") or {}
    return next((stats[k] for k in _STATS if stats.get(k)), {})


def _state(raw: dict[str, Any]) -> str:
    state = raw.get("state") or "JOB_STATE_UNSPECIFIED"
    return str(getattr(state, "value", state))


def remote_job(obj: Any) -> RemoteJob:
    """A google-genai ``TuningJob`` (or its JSON dump) as a :class:`RemoteJob`."""
    from .prepare import label_text

    raw = _dump(obj)
    state = _state(raw)
    hyper = _spec(raw).get("hyper_parameters") or {}
    stats = _stats(raw)
    epochs = _int(hyper.get("epoch_count"))
    billable = _int(stats.get("total_billable_token_count"))
    tuned = raw.get("tuned_model") or {}
    err = raw.get("error") or {}
    code = err.get("code")
    progress = {k: v for k, v in (("epochs", epochs), ("total_steps", _int(stats.get("tuning_step_count"))),
                                  ("examples", _int(stats.get("tuning_dataset_example_count"))),
                                  ("billable_tokens_per_epoch", billable)) if v is not None}
    key = (raw.get("labels") or {}).get(CLIENT_KEY_FIELD)
    return RemoteJob(
        id=raw["name"].rsplit("/", 1)[-1], status=STATES.get(state, "running"), provider_status=state,
        base_model=raw.get("base_model"),
        # The endpoint is what serves the tuned model (generate_content(model=endpoint)).
        fine_tuned_model=tuned.get("endpoint") or tuned.get("model"),
        trained_tokens=billable * epochs if billable is not None and epochs is not None else None,
        error_code=(RPC_CODES.get(code, str(code)) if isinstance(code, int) else (str(code) if code else None))
        if err else None,
        error_message=err.get("message") or None,
        client_key=label_text(key) if key else None,
        created_at=_seconds(raw.get("create_time")), finished_at=_seconds(raw.get("end_time")),
        progress=progress, raw=raw,
        artifacts={k: v for k, v in (("tuned_model", tuned.get("model")), ("endpoint", tuned.get("endpoint"))) if v})


def checkpoints_of(job: RemoteJob) -> list[RemoteCheckpoint]:
    tuned = job.raw.get("tuned_model") or {}
    out = []
    for c in tuned.get("checkpoints") or ():
        step = _int(c.get("step"))
        if step is None:
            continue
        metrics = {"epoch": _int(c.get("epoch"))} if c.get("epoch") is not None else {}
        out.append(RemoteCheckpoint(str(c.get("checkpoint_id") or step), step,
                                    c.get("endpoint") or tuned.get("endpoint") or "", metrics))
    return sorted(out, key=lambda c: c.step)


def job_events(job: RemoteJob) -> list[RemoteEvent]:
    """Events derived from a job snapshot, oldest first, with ids stable across polls: the
    dataset statistics once known, one progress event per checkpoint, then the tuned model
    (or the error)."""
    at = job.created_at or 0.0
    out: list[RemoteEvent] = []
    p = job.progress
    if "examples" in p or "billable_tokens_per_epoch" in p:
        parts = [f"{p['examples']:,} examples" if "examples" in p else None,
                 f"{p['billable_tokens_per_epoch']:,} billable tokens per epoch"
                 if "billable_tokens_per_epoch" in p else None,
                 f"{p['epochs']} epochs" if "epochs" in p else None,
                 f"{p['total_steps']:,} steps" if "total_steps" in p else None]
        out.append(RemoteEvent("stats", at, "info", "tuning data: " + ", ".join(x for x in parts if x)))
    for c in checkpoints_of(job):
        metrics = {"step": c.step, **c.metrics}
        if "total_steps" in p:
            metrics["total_steps"] = p["total_steps"]
        out.append(RemoteEvent(f"checkpoint-{c.id}", job.finished_at or at, "info",
                               f"checkpoint {c.id} at step {c.step}", metrics))
    tuned = job.raw.get("tuned_model") or {}
    if job.status == "succeeded" and (tuned.get("model") or tuned.get("endpoint")):
        # Recorded in the run's history: the model resource is what to deploy again or delete.
        out.append(RemoteEvent("tuned-model", job.finished_at or at, "info",
                               f"tuned model {tuned.get('model') or '-'} served at endpoint "
                               f"{tuned.get('endpoint') or '-'}"))
    if job.error_message and job.status == "failed":
        out.append(RemoteEvent("error", job.finished_at or at, "error",
                               f"{job.error_code}: {job.error_message}" if job.error_code else job.error_message))
    return out
