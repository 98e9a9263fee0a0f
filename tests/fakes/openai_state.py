"""The state behind the fake OpenAI server: files and fine-tuning jobs that move through
validating_files -> queued -> running -> succeeded / failed / cancelled.

Jobs advance by *ticks*: with ``clock="time"`` a tick is ``tick_seconds`` of wall time since the
job was created (milliseconds under test), with ``clock="manual"`` only :meth:`State.advance`
moves them. Everything here is guarded by one lock; the HTTP layer is in ``openai_server.py``.
"""

from __future__ import annotations

import base64
import itertools
import math
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from . import faults

VALIDATING_TICKS = 2
QUEUED_TICKS = 2


class ApiError(faults.ApiError):
    """An error answer: HTTP status plus OpenAI's error object."""

    def __init__(self, status: int, message: str, code: str | None = None, param: str | None = None,
                 type_: str = "invalid_request_error"):
        super().__init__(status, message, code)
        self.param, self.type = param, type_

    def body(self) -> dict[str, Any]:
        return {"error": {"message": str(self), "type": self.type, "param": self.param, "code": self.code}}


@dataclass
class Job:
    id: str
    request: dict[str, Any]
    created_at: int
    created_mono: float
    n_train: int
    train_tokens: int
    n_epochs: int
    batch_size: int
    steps_per_epoch: int
    fail: tuple[int, str, str] | None = None  # (step, code, message)
    ticks: int = 0  # manual clock
    cancelled_at: int | None = None  # tick
    events: list[dict[str, Any]] = field(default_factory=list)
    emitted_steps: int = 0
    phase_events: set[str] = field(default_factory=set)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    result_file: str | None = None
    final: dict[str, Any] | None = None  # frozen terminal fields

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.n_epochs


class State:
    def __init__(self, clock: str = "time", tick_seconds: float = 0.002, organization: str = "org-ftxfake"):
        self.lock = threading.RLock()
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.organization = organization
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.jobs: dict[str, Job] = {}
        self.fail_next: tuple[int, str, str] | None = None
        # Uploaded files stay "uploaded" for this many ticks; reject_next_upload makes the next
        # fine-tune upload end in "error" with that status_details.
        self.file_processing_ticks = 0
        self.reject_next_upload: str | None = None
        self._file_clock: dict[str, float] = {}
        self._file_error: dict[str, str] = {}
        self._seq = itertools.count(1)

    # -- ids and time ------------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._seq):06d}{secrets.token_hex(6)}"

    def _ticks(self, job: Job) -> int:
        if self.clock == "manual":
            return job.ticks
        return int((time.monotonic() - job.created_mono) / self.tick_seconds)

    def advance(self, job_id: str | None = None, ticks: int = 1) -> None:
        with self.lock:
            for job in ([self.jobs[job_id]] if job_id else self.jobs.values()):
                job.ticks += ticks

    # -- files -------------------------------------------------------------------------------
    def add_file(self, filename: str, content: bytes, purpose: str) -> dict[str, Any]:
        with self.lock:
            file_id = self._id("file-")
            obj = {"id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                   "filename": filename, "purpose": purpose, "status": "processed"}
            self.files[file_id] = obj
            self.contents[file_id] = content
            self._file_clock[file_id] = time.monotonic()
            if purpose == "fine-tune" and self.reject_next_upload:
                self._file_error[file_id], self.reject_next_upload = self.reject_next_upload, None
            return self._file_view(file_id)

    def _file_view(self, file_id: str) -> dict[str, Any]:
        obj = dict(self.files[file_id])
        waited = (time.monotonic() - self._file_clock.get(file_id, 0.0)) / self.tick_seconds
        if waited < self.file_processing_ticks:
            obj["status"] = "uploaded"
        elif file_id in self._file_error:
            obj.update(status="error", status_details=self._file_error[file_id])
        return obj

    def get_file(self, file_id: str) -> dict[str, Any]:
        with self.lock:
            if file_id not in self.files:
                raise ApiError(404, f"No such File object: {file_id}", None, "id")
            return self._file_view(file_id)

    def delete_file(self, file_id: str) -> dict[str, Any]:
        with self.lock:
            self.get_file(file_id)
            del self.files[file_id], self.contents[file_id]
            return {"id": file_id, "object": "file", "deleted": True}

    def list_files(self, purpose: str | None) -> list[dict[str, Any]]:
        with self.lock:
            found = [self._file_view(i) for i, f in self.files.items() if purpose in (None, f["purpose"])]
            return sorted(found, key=lambda f: f["id"], reverse=True)

    # -- jobs --------------------------------------------------------------------------------
    def create_job(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            model, training = body.get("model"), body.get("training_file")
            if not isinstance(model, str) or not model:
                raise ApiError(400, "Missing required parameter: 'model'.", None, "model")
            if not isinstance(training, str) or training not in self.files:
                raise ApiError(400, f"Invalid file id: {training!r}", "invalid_file_id", "training_file")
            if self.files[training]["purpose"] != "fine-tune":
                raise ApiError(400, "File must be uploaded with purpose fine-tune", "invalid_file_purpose",
                               "training_file")
            validation = body.get("validation_file")
            if validation is not None and validation not in self.files:
                raise ApiError(400, f"Invalid file id: {validation!r}", "invalid_file_id", "validation_file")
            method = body.get("method") or {"type": "supervised", "supervised": {"hyperparameters": {}}}
            kind = method.get("type")
            if kind not in ("supervised", "dpo"):
                raise ApiError(400, f"Unsupported method type {kind!r}", None, "method.type")
            meta = body.get("metadata")
            if meta is not None and (not isinstance(meta, dict) or len(meta) > 16
                                     or not all(isinstance(v, str) for v in meta.values())):
                raise ApiError(400, "metadata must map at most 16 keys to strings", None, "metadata")
            hyper = dict((method.get(kind) or {}).get("hyperparameters") or {})
            lines = [line for line in self.contents[training].decode().splitlines() if line.strip()]
            n_epochs = hyper.get("n_epochs") if isinstance(hyper.get("n_epochs"), int) else 3
            batch = hyper.get("batch_size") if isinstance(hyper.get("batch_size"), int) else max(1, len(lines) // 32)
            job = Job(self._id("ftjob-"), dict(body, method=method), int(time.time()), time.monotonic(), len(lines),
                      sum(max(1, len(line) // 4) for line in lines), n_epochs, batch,
                      max(1, math.ceil(len(lines) / batch)), fail=self.fail_next)
            self.fail_next = None
            self.jobs[job.id] = job
            self._event(job, "info", f"Created fine-tuning job: {job.id}")
            return self._render(job)

    def _job(self, job_id: str) -> Job:
        if job_id not in self.jobs:
            raise ApiError(404, f"No such fine-tuning job: {job_id}", "fine_tune_not_found", "fine_tune_id")
        return self.jobs[job_id]

    def get_job(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            return self._render(self._job(job_id))

    def list_jobs(self, metadata: dict[str, str]) -> list[dict[str, Any]]:
        with self.lock:
            jobs = [j for j in self.jobs.values()
                    if all((j.request.get("metadata") or {}).get(k) == v for k, v in metadata.items())]
            return [self._render(j) for j in sorted(jobs, key=lambda j: j.id, reverse=True)]

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        with self.lock:
            job = self._job(job_id)
            status = self._render(job)["status"]
            if status in ("succeeded", "failed", "cancelled"):
                raise ApiError(400, f"Job {job_id} has already {status}", "invalid_state")
            job.cancelled_at = self._ticks(job)
            self._event(job, "info", "Fine-tuning job cancelled")
            return self._render(job)

    def events(self, job_id: str) -> list[dict[str, Any]]:
        with self.lock:
            job = self._job(job_id)
            self._render(job)
            return list(reversed(job.events))

    def checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        with self.lock:
            job = self._job(job_id)
            self._render(job)
            return list(reversed(job.checkpoints))

    # -- the state machine -------------------------------------------------------------------
    def _event(self, job: Job, level: str, message: str, data: dict[str, Any] | None = None) -> None:
        job.events.append({"object": "fine_tuning.job.event", "id": f"ftevent-{job.id[6:]}-{len(job.events):05d}",
                           "created_at": int(time.time()), "level": level, "message": message,
                           "data": data or {}, "type": "metrics" if data else "message"})

    @staticmethod
    def _loss(step: int, total: int) -> float:
        return round(2.2 * math.exp(-3.0 * step / total) + 0.15, 4)

    def _metrics(self, job: Job, step: int) -> dict[str, Any]:
        loss = self._loss(step, job.total_steps)
        data = {"step": step, "train_loss": loss, "train_mean_token_accuracy": round(1 - loss / 3, 4),
                "total_steps": job.total_steps}
        if job.request.get("validation_file") and step % job.steps_per_epoch == 0:
            data.update(valid_loss=round(loss * 1.1, 4), valid_mean_token_accuracy=round(1 - loss * 1.1 / 3, 4))
        return data

    def _run_steps(self, job: Job, upto: int) -> None:
        while job.emitted_steps < upto:
            job.emitted_steps += 1
            step = job.emitted_steps
            data = self._metrics(job, step)
            text = f"Step {step}/{job.total_steps}: training loss={data['train_loss']:.4f}"
            if "valid_loss" in data:
                text += f", validation loss={data['valid_loss']:.4f}"
            self._event(job, "info", text, data)
            if step % job.steps_per_epoch == 0:
                epoch = step // job.steps_per_epoch
                name = f"ft:{job.request['model']}:ftx-fake::{job.id[-8:]}:ckpt-step-{step}"
                job.checkpoints.append({
                    "object": "fine_tuning.job.checkpoint", "id": f"ftckpt_{job.id[6:]}{epoch}",
                    "created_at": int(time.time()), "fine_tuned_model_checkpoint": name,
                    "fine_tuning_job_id": job.id, "step_number": step,
                    "metrics": {k: v for k, v in data.items() if k != "total_steps"}})

    def _result_csv(self, job: Job) -> bytes:
        lines = ["step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"]
        for step in range(1, job.emitted_steps + 1):
            m = self._metrics(job, step)
            lines.append(f"{step},{m['train_loss']},{m['train_mean_token_accuracy']},"
                         f"{m.get('valid_loss', '')},{m.get('valid_mean_token_accuracy', '')}")
        return base64.b64encode(("\n".join(lines) + "\n").encode())

    def _render(self, job: Job) -> dict[str, Any]:
        """The job as the API shows it now (advancing its timeline first)."""
        if job.final is None:
            self._advance(job)
        request = job.request
        kind = request["method"]["type"]
        asked = dict((request["method"].get(kind) or {}).get("hyperparameters") or {})
        lrm = asked.get("learning_rate_multiplier")
        hyper = {"n_epochs": job.n_epochs, "batch_size": job.batch_size,
                 "learning_rate_multiplier": lrm if isinstance(lrm, (int, float)) else 1.8}
        method_hyper = dict(hyper)
        if kind == "dpo":
            beta = asked.get("beta")
            method_hyper["beta"] = beta if isinstance(beta, (int, float)) else 0.1
        body: dict[str, Any] = {
            "object": "fine_tuning.job", "id": job.id, "model": request["model"], "created_at": job.created_at,
            "finished_at": None, "fine_tuned_model": None, "organization_id": self.organization,
            "result_files": [], "status": "validating_files", "validation_file": request.get("validation_file"),
            "training_file": request["training_file"], "hyperparameters": hyper, "trained_tokens": None,
            "error": None, "seed": request.get("seed") if isinstance(request.get("seed"), int) else 1234,
            "estimated_finish": None, "integrations": request.get("integrations") or [],
            "method": {"type": kind, kind: {"hyperparameters": method_hyper}},
            "metadata": request.get("metadata"),
        }
        if job.final is not None:
            body.update(job.final)
            return body
        ticks = self._ticks(job)
        body["status"] = "validating_files" if ticks < VALIDATING_TICKS else "queued" \
            if ticks < VALIDATING_TICKS + QUEUED_TICKS else "running"
        if body["status"] == "running":
            body["estimated_finish"] = int(time.time()) + 60
        return body

    def _advance(self, job: Job) -> None:
        ticks = self._ticks(job)
        if job.cancelled_at is not None:
            self._finish(job, "cancelled")
            return
        if ticks >= VALIDATING_TICKS and "validated" not in job.phase_events:
            job.phase_events.add("validated")
            if job.n_train < 10:
                self._fail(job, "invalid_n_examples",
                           f"Training file has {job.n_train} example(s), but must have at least 10 examples")
                return
            self._event(job, "info", "Validating training file: done")
        if ticks >= VALIDATING_TICKS + QUEUED_TICKS and "started" not in job.phase_events:
            job.phase_events.add("started")
            self._event(job, "info", "Fine-tuning job started")
        steps = min(job.total_steps, max(0, ticks - VALIDATING_TICKS - QUEUED_TICKS))
        if job.fail and steps >= job.fail[0]:
            self._run_steps(job, job.fail[0])
            self._fail(job, job.fail[1], job.fail[2])
            return
        self._run_steps(job, steps)
        if steps >= job.total_steps:
            content = self._result_csv(job)
            result = self.add_file("step_metrics.csv", content, "fine-tune-results")
            job.result_file = result["id"]
            self._event(job, "info", "New fine-tuned model created")
            self._event(job, "info", "The job has successfully completed")
            self._finish(job, "succeeded")

    def _fail(self, job: Job, code: str, message: str) -> None:
        self._event(job, "error", message)
        self._finish(job, "failed", {"code": code, "message": message, "param": None})

    def _finish(self, job: Job, status: str, error: dict[str, Any] | None = None) -> None:
        final: dict[str, Any] = {"status": status, "finished_at": int(time.time()), "error": error}
        trained = job.emitted_steps * job.batch_size * max(1, job.train_tokens // max(1, job.n_train))
        if status == "succeeded":
            suffix = job.request.get("suffix") or ""
            final.update(fine_tuned_model=f"ft:{job.request['model']}:ftx-fake:{suffix}:{job.id[-8:]}",
                         result_files=[job.result_file], trained_tokens=job.train_tokens * job.n_epochs)
        elif job.emitted_steps:
            final["trained_tokens"] = trained
        job.final = final

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {"files": len(self.files), "jobs": len(self.jobs),
                    "statuses": {j.id: self._render(j)["status"] for j in self.jobs.values()}}
