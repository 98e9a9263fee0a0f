"""A stateful fake of Together AI's files + fine-tuning API on 127.0.0.1, for the real ``together`` SDK.

    with FakeTogether() as server:
        monkeypatch.setenv("TOGETHER_BASE_URL", server.url)
        server.inject("POST", "/v1/fine-tunes", kind="reset", when="after")   # created, answer lost

Answers follow Together's OpenAPI spec (``shared/reference/together-openapi.yaml``; the schema
of each answer is recorded in ``server.answers`` and checked in tests). Uploads follow what the
SDK does: ``POST /v1/files`` (multipart: purpose, file_name, file_type, checksum) answers 302 with a
``Location`` to PUT the bytes to and ``X-Together-File-Id``, then ``POST /v1/files/{id}/preprocess``;
a file with the same name and checksum answers 409 with its ``file_id``. A job moves on each time
it is read: pending, queued, running (one step a read, an event and a metrics row each), then
completed with a checkpoint per epoch. ``/v1/finetune/download`` follows the spec's parameters
(``ft_id``; ``checkpoint``: merged, adapter or model_output_path, required without
``checkpoint_step``, which wins when set): 404 for an unknown job, 400 for a bad parameter, a job
not completed, an unknown step or the adapter of a full fine-tune; it serves what
:meth:`FakeTogether.serve` set for the job, else ``adapter`` / ``merged`` bytes a test can set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
import uuid
from typing import Any

from .faults import ApiError, FaultyHandler, FaultyServer, multipart


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")


class FakeTogether(FaultyServer):
    def __init__(self, *, steps: int = 3, lifetime: float = 300.0, price_per_1m: float = 0.48):
        self._init_faults()
        self.steps = steps
        self.price_per_1m = price_per_1m
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.pending_uploads: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests_bodies: list[dict[str, Any]] = []
        self.adapter = b"fake adapter archive"
        self.merged = b"fake merged archive"
        self.served: dict[tuple[str, str], bytes] = {}  # (job id, checkpoint or "step-N") -> bytes
        self.fail_next: str | None = None  # the next job fails with this message
        self.lock = threading.RLock()
        self._serve(_Handler, 0, lifetime)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve(self, job_id: str, checkpoint: str, content: bytes) -> None:
        """What ``/v1/finetune/download`` answers for this job's ``checkpoint`` (or ``step-N``)."""
        self.served[(job_id, checkpoint)] = content

    # -- state -------------------------------------------------------------------------------------
    def file_view(self, file_id: str) -> dict[str, Any]:
        f = self.files.get(file_id)
        if f is None:
            raise ApiError(404, f"file {file_id} not found", "not_found")
        return dict(f)

    def job_tokens(self, job: dict[str, Any]) -> int:
        content = self.contents.get(job["request"]["training_file"], b"")
        return max(1, len(content) // 4)

    def advance(self, job: dict[str, Any]) -> None:
        """One read of a job: it moves one stage (and a step while running)."""
        status = job["status"]
        if status in ("completed", "cancelled", "error"):
            return
        if status == "cancel_requested":
            self._set(job, "cancelled", "job_stopped", "Job cancelled by user")
            return
        if status == "pending":
            self._set(job, "queued", "job_pending", "Job is pending")
        elif status == "queued":
            self._set(job, "running", "job_start", "Job started")
        elif status == "running":
            job["step"] += 1
            step = job["step"]
            loss = round(2.0 / (step + 1), 4)
            job["metrics"].append({"train/loss": loss, "train/global_step": step, "train/learning_rate": 1e-5})
            self._event(job, "epoch_complete", f"Epoch {step} completed (loss {loss})", step=step)
            job["checkpoints"].append({"step": step, "path": f"{job['model_output_name']}:{step}",
                                       "created_at": _now(), "checkpoint_type": "Intermediate"})
            if step >= self.steps:
                if job.pop("fail", None):
                    job["status"] = "error"
                    self._event(job, "job_error", job.get("error") or "training failed", level="error")
                    return
                job["token_count"] = self.job_tokens(job) * job["request"].get("n_epochs", 1)
                job["total_price"] = int(job["token_count"] * self.price_per_1m / 1e4)  # cents (spec: an integer)
                self._set(job, "completed", "job_complete", "Job finished")

    def _set(self, job: dict[str, Any], status: str, event: str, message: str) -> None:
        job["status"] = status
        job["updated_at"] = _now()
        self._event(job, event, message)

    def _event(self, job: dict[str, Any], kind: str, message: str, *, step: int = 0, level: str = "info") -> None:
        job["events"].append({
            "object": "fine-tune-event", "created_at": _now(), "message": message, "type": kind,
            "level": level, "param_count": 8_030_261_248, "token_count": 0, "total_steps": self.steps,
            "wandb_url": "", "step": step, "checkpoint_path": "", "model_path": job["model_output_name"],
            "training_offset": 0, "hash": hashlib.sha256(f"{job['id']}{len(job['events'])}".encode()).hexdigest()[:16]})

    def job_view(self, job: dict[str, Any], truncated: bool = False) -> dict[str, Any]:
        req = job["request"]
        out: dict[str, Any] = {
            "id": job["id"], "status": job["status"], "model": req["model"], "created_at": job["created_at"],
            "updated_at": job["updated_at"], "training_file": req["training_file"],
            "model_output_name": job["model_output_name"], "n_epochs": req.get("n_epochs", 1),
            "n_checkpoints": req.get("n_checkpoints", 1), "learning_rate": req.get("learning_rate", 1e-5),
            "training_method": _method_view(req.get("training_method")),
            "training_type": req.get("training_type") or {"type": "Lora", "lora_r": 8, "lora_alpha": 8},
        }
        if req.get("validation_file"):
            out["validation_file"] = req["validation_file"]
        if req.get("batch_size") is not None:
            out["batch_size"] = req["batch_size"]
        if "token_count" in job:
            out["token_count"] = job["token_count"]
            out["total_price"] = job["total_price"]
        if not truncated:
            out["events"] = list(job["events"])
            out["epochs_completed"] = job["step"]
            out["trainingfile_numlines"] = self.contents.get(req["training_file"], b"").count(b"\n")
        return out


_ID = r"(?P<id>[^/]+)"


class _Handler(FaultyHandler):
    server_fake: FakeTogether
    routes = [
        ("POST", re.compile(r"^/v1/files$"), "start_upload"),
        ("PUT", re.compile(rf"^/upload/{_ID}$"), "put_content"),
        ("POST", re.compile(rf"^/v1/files/{_ID}/preprocess$"), "preprocess"),
        ("POST", re.compile(r"^/v1/files/upload$"), "upload_direct"),
        ("GET", re.compile(r"^/v1/files$"), "list_files"),
        ("GET", re.compile(rf"^/v1/files/{_ID}$"), "get_file"),
        ("GET", re.compile(rf"^/v1/files/{_ID}/content$"), "file_content"),
        ("POST", re.compile(r"^/v1/fine-tunes$"), "create_job"),
        ("GET", re.compile(r"^/v1/fine-tunes$"), "list_jobs"),
        ("POST", re.compile(r"^/v1/fine-tunes/estimate-price$"), "estimate_price"),
        ("GET", re.compile(rf"^/v1/fine-tunes/{_ID}$"), "get_job"),
        ("POST", re.compile(rf"^/v1/fine-tunes/{_ID}/cancel$"), "cancel_job"),
        ("GET", re.compile(rf"^/v1/fine-tunes/{_ID}/events$"), "events"),
        ("GET", re.compile(rf"^/v1/fine-tunes/{_ID}/checkpoints$"), "checkpoints"),
        ("GET", re.compile(rf"^/v1/fine-tunes/{_ID}/metrics$"), "metrics"),
        ("GET", re.compile(r"^/v1/finetune/download$"), "download"),
    ]

    def error_body(self, err: ApiError) -> tuple[str, Any]:
        return "ErrorData", {"error": {"message": err.message, "type": "invalid_request_error" if err.status < 500
                                       else "server_error", "code": err.code, "param": None}, **err.extra}

    def authorized(self) -> bool:
        return self.path.startswith("/upload/") or bool(self.headers.get("Authorization"))

    # -- files -------------------------------------------------------------------------------------
    def _start_upload(self, _m: Any, _q: dict, raw: bytes) -> tuple:
        form = multipart(raw, self.headers.get("Content-Type") or "")
        fields = {k: v[1].decode() for k, v in form.items()}
        for name in ("purpose", "file_name", "checksum"):
            if not fields.get(name):
                raise ApiError(400, f"missing form field {name!r}", "invalid_request")
        fake = self.server_fake
        with fake.lock:
            for f in fake.files.values():
                if f["filename"] == fields["file_name"] and f["_checksum"] == fields["checksum"]:
                    raise ApiError(409, "File already exists", "file_exists", {"file_id": f["id"]})
            file_id = f"file-{uuid.uuid4()}"
            fake.pending_uploads[file_id] = fields
        return 302, "none", {}, {"Location": f"{fake.url}/upload/{file_id}", "X-Together-File-Id": file_id}

    def _put_content(self, m: Any, _q: dict, raw: bytes) -> tuple:
        fake = self.server_fake
        with fake.lock:
            fields = fake.pending_uploads.get(m["id"])
            if fields is None:
                raise ApiError(404, "no such upload", "not_found")
            fields["_content"] = raw
        return 200, "none", {}

    def _preprocess(self, m: Any, _q: dict, _raw: bytes) -> tuple:
        fake = self.server_fake
        with fake.lock:
            if m["id"] in fake.files:
                return 200, "FileResponse", fake.file_view(m["id"])
            fields = fake.pending_uploads.pop(m["id"], None)
            if fields is None or "_content" not in fields:
                raise ApiError(400, "the file's content was never uploaded", "invalid_request")
            return 200, "FileResponse", self._store(m["id"], fields["file_name"], fields["_content"],
                                                    fields["purpose"], fields["checksum"])

    def _store(self, file_id: str, name: str, content: bytes, purpose: str, checksum: str) -> dict[str, Any]:
        fake = self.server_fake
        fake.contents[file_id] = content
        fake.files[file_id] = {"id": file_id, "object": "file", "created_at": int(dt.datetime.now().timestamp()),
                               "filename": name, "bytes": len(content), "purpose": purpose, "FileType": "jsonl",
                               "Processed": True, "_checksum": checksum}
        return fake.file_view(file_id)

    def _upload_direct(self, _m: Any, _q: dict, raw: bytes) -> tuple:
        form = multipart(raw, self.headers.get("Content-Type") or "")
        content = form.get("file", (None, b""))[1]
        name = form.get("file_name", (None, b"upload.jsonl"))[1].decode()
        with self.server_fake.lock:
            return 200, "FileResponse", self._store(f"file-{uuid.uuid4()}", name, content,
                                                    form.get("purpose", (None, b"fine-tune"))[1].decode(),
                                                    hashlib.sha256(content).hexdigest())

    def _list_files(self, _m: Any, _q: dict, _raw: bytes) -> tuple:
        with self.server_fake.lock:
            return 200, "FileList", {"data": [self.server_fake.file_view(i) for i in self.server_fake.files]}

    def _get_file(self, m: Any, _q: dict, _raw: bytes) -> tuple:
        with self.server_fake.lock:
            return 200, "FileResponse", self.server_fake.file_view(m["id"])

    def _file_content(self, m: Any, _q: dict, _raw: bytes) -> tuple:
        self.server_fake.file_view(m["id"])
        return 200, "bytes", self.server_fake.contents[m["id"]]

    # -- jobs --------------------------------------------------------------------------------------
    def _body(self, raw: bytes) -> dict[str, Any]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(400, "invalid JSON body", "invalid_request") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be an object", "invalid_request")
        return body

    def _create_job(self, _m: Any, _q: dict, raw: bytes) -> tuple:
        fake = self.server_fake
        body = self._body(raw)
        for name in ("model", "training_file"):
            if not isinstance(body.get(name), str):
                raise ApiError(400, f"{name} is required", "invalid_request")
        with fake.lock:
            for ref in (body["training_file"], body.get("validation_file")):
                if ref:
                    fake.file_view(ref)
            job_id = f"ft-{uuid.uuid4()}"
            suffix = body.get("suffix")
            base = body["model"].rsplit("/", 1)[-1]
            output = f"ftx-test/{base}{'-' + suffix if suffix else ''}-{job_id[-8:]}"
            job = {"id": job_id, "request": body, "status": "pending", "created_at": _now(), "updated_at": _now(),
                   "model_output_name": output, "step": 0, "events": [], "metrics": [], "checkpoints": []}
            if fake.fail_next:
                job["fail"], job["error"], fake.fail_next = True, fake.fail_next, None
            fake._event(job, "job_pending", "Fine tune request created")
            fake.jobs[job_id] = job
            fake.requests_bodies.append(body)
            fake.created.set()
            return 200, "FinetuneResponseTruncated", fake.job_view(job, truncated=True)

    def _job(self, job_id: str) -> dict[str, Any]:
        job = self.server_fake.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"fine-tune job {job_id} not found", "not_found")
        return job

    def _list_jobs(self, _m: Any, _q: dict, _raw: bytes) -> tuple:
        fake = self.server_fake
        with fake.lock:
            jobs = sorted(fake.jobs.values(), key=lambda j: j["created_at"], reverse=True)
            return 200, "FinetuneTruncatedList", {"data": [fake.job_view(j, truncated=True) for j in jobs]}

    def _get_job(self, m: Any, _q: dict, _raw: bytes) -> tuple:
        fake = self.server_fake
        with fake.lock:
            job = self._job(m["id"])
            fake.advance(job)
            return 200, "FinetuneResponse", fake.job_view(job)

    def _cancel_job(self, m: Any, _q: dict, _raw: bytes) -> tuple:
        fake = self.server_fake
        with fake.lock:
            job = self._job(m["id"])
            if job["status"] in ("completed", "error", "cancelled"):
                raise ApiError(400, f"job {job['id']} is {job['status']} and cannot be cancelled", "invalid_state")
            fake._set(job, "cancel_requested", "cancel_requested", "Cancel requested")
            return 200, "FinetuneResponseTruncated", fake.job_view(job, truncated=True)

    def _events(self, m: Any, _q: dict, _raw: bytes) -> tuple:
        with self.server_fake.lock:
            return 200, "FinetuneListEvents", {"data": list(self._job(m["id"])["events"])}

    def _checkpoints(self, m: Any, _q: dict, _raw: bytes) -> tuple:
        with self.server_fake.lock:
            return 200, "FinetuneListCheckpoints", {"data": list(self._job(m["id"])["checkpoints"])[::-1]}

    def _metrics(self, m: Any, _q: dict, _raw: bytes) -> tuple:
        with self.server_fake.lock:
            return 200, "metrics", {"metrics": list(self._job(m["id"])["metrics"])}

    def _estimate_price(self, _m: Any, _q: dict, raw: bytes) -> tuple:
        fake = self.server_fake
        body = self._body(raw)
        with fake.lock:
            fake.file_view(body.get("training_file") or "")
            tokens = max(1, len(fake.contents[body["training_file"]]) // 4) * int(body.get("n_epochs") or 1)
        return 200, "estimate", {"estimated_total_price": round(tokens * fake.price_per_1m / 1e6, 6),
                                 "allowed_to_proceed": True, "user_limit": 100.0,
                                 "estimated_train_token_count": tokens, "estimated_eval_token_count": 0}

    def _download(self, _m: Any, query: dict, _raw: bytes) -> tuple:
        fake = self.server_fake
        checkpoint, step = query.get("checkpoint"), query.get("checkpoint_step")
        if not query.get("ft_id"):
            raise ApiError(400, "ft_id is required", "invalid_request")
        if step is not None and not re.fullmatch(r"\d+", step):
            raise ApiError(400, "checkpoint_step must be an integer", "invalid_request")
        if step is None and checkpoint is None:
            raise ApiError(400, "checkpoint is required when checkpoint_step is not set", "invalid_request")
        if step is None and checkpoint not in ("merged", "adapter", "model_output_path"):
            raise ApiError(400, f"checkpoint must be merged, adapter or model_output_path, not {checkpoint!r}",
                           "invalid_request")
        with fake.lock:
            job = self._job(query["ft_id"])
            if job["status"] != "completed":
                raise ApiError(400, f"job {job['id']} has no model yet ({job['status']})", "invalid_state")
            if step is not None and int(step) not in (0, job["step"]):
                if int(step) not in [c["step"] for c in job["checkpoints"]]:
                    raise ApiError(400, f"job {job['id']} has no checkpoint at step {step}", "invalid_request")
                return 200, "bytes", fake.served.get((job["id"], f"step-{step}"), fake.adapter)
            full = (job["request"].get("training_type") or {}).get("type") == "Full"
            if step is not None:  # the final step: its checkpoint (the spec: `checkpoint` is then ignored)
                kind = "merged" if full else "adapter"
            elif checkpoint == "adapter" and full:
                raise ApiError(400, f"job {job['id']} is a full fine-tune: it has no adapter", "invalid_request")
            else:
                kind = "merged" if checkpoint == "model_output_path" else str(checkpoint)
            default = fake.adapter if kind == "adapter" else fake.merged
            return 200, "bytes", fake.served.get((job["id"], kind), default)


def _method_view(method: dict[str, Any] | None) -> dict[str, Any]:
    """The job's training method as Together reports it: ``train_on_inputs: auto`` resolved (for
    conversational data it means the prompt turns are masked, i.e. false)."""
    out = dict(method or {"method": "sft"})
    if out.get("method") == "sft":
        value = out.get("train_on_inputs", "auto")
        out["train_on_inputs"] = value if isinstance(value, bool) else False
    return out
