"""A stateful fake of Fireworks AI's dataset + fine-tuning REST API on 127.0.0.1 (httpx client).

Shapes follow Fireworks' API reference (docs.fireworks.ai/api-reference; the reference set of this
project holds no OpenAPI file for Fireworks): datasets ``accounts/A/datasets/ID`` (created, then
``:upload``, then ``READY``); ``supervisedFineTuningJobs`` and ``dpoJobs`` named by the caller
(``?supervisedFineTuningJobId=``; a second create of one name answers 409 ALREADY_EXISTS), moving
``JOB_STATE_CREATING`` -> ``RUNNING`` -> ``COMPLETED`` one stage per read, and ``:cancel``.
Errors are Google-style: ``{"error": {"code": 409, "message": ..., "status": "ALREADY_EXISTS"}}``.

Downloads: ``GET .../models/ID:getDownloadEndpoint`` answers ``{"filenameToSignedUrls": {name:
url}}`` for a succeeded job's model (404 otherwise). The shape is the official SDK's
(``fireworks-ai`` 1.2.30, ``fireworks/types/model_get_download_endpoint_response.py``:
``ModelGetDownloadEndpointResponse``, whose one field is ``filename_to_signed_urls``, alias
``filenameToSignedUrls``; the call is ``Models.get_download_endpoint`` in
``fireworks/resources/models.py``). Each URL points back here (``/signed/N?X-Goog-Signature=...``,
the signature in the query string as a storage host's signed URL carries it) and serves the file's
bytes (``serve(model, files)`` sets them; a finished job gets a small default adapter) to anyone
holding the signature, no API key needed: an unknown or expired (``expire_urls()``) one is refused
403/400 as Google Cloud Storage does. ``storage_auth`` records the Authorization header each
storage request carried (``None``: none). Cut a file off mid-way with the usual faults:
``inject("GET", "/signed/.*", kind="truncate", when="after")``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
from typing import Any

from .faults import ApiError, FaultyHandler, FaultyServer, multipart, rpc_status_body

_KINDS = {"supervisedFineTuningJobs": "supervisedFineTuningJobId", "dpoJobs": "dpoJobId"}


def _gcs_error(code: str) -> bytes:
    return f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code></Error>".encode()


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z")


class FakeFireworks(FaultyServer):
    def __init__(self, *, account: str = "ftx-test", steps: int = 3, lifetime: float = 300.0):
        self._init_faults()
        self.account, self.steps = account, steps
        self.datasets: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.jobs: dict[str, dict[str, Any]] = {}  # name -> job
        self.fail_next: str | None = None
        self.model_files: dict[str, dict[str, bytes]] = {}  # model name -> file name -> bytes
        self.signed: list[dict[str, Any]] = []  # the signed URLs handed out: /signed/<index>
        self.storage_auth: list[str | None] = []
        self.lock = threading.RLock()
        self._serve(_Handler, 0, lifetime)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def advance(self, job: dict[str, Any]) -> None:
        state = job["state"]
        if state == "JOB_STATE_CANCELLING":
            job["state"] = "JOB_STATE_CANCELLED"
        elif state == "JOB_STATE_CREATING":
            job["state"] = "JOB_STATE_RUNNING"
        elif state == "JOB_STATE_RUNNING":
            job["_reads"] += 1
            if job["_reads"] >= self.steps:
                if job.pop("_fail", None):
                    job["state"] = "JOB_STATE_FAILED"
                    job["status"] = {"code": "INTERNAL", "message": job.pop("_error")}
                else:
                    job["state"] = "JOB_STATE_COMPLETED"
                    output = job.get("outputModel") or job["trainingConfig"]["outputModel"]
                    self.model_files.setdefault(output, {"adapter_config.json": b'{"peft_type": "LORA", "r": 8}',
                                                         "adapter_model.safetensors": b"\x08" * 4096})
                    content = self.contents.get(job["_dataset"], b"")
                    job["trainedTokens"] = max(1, len(content) // 4) * int(job["_epochs"])
        job["updateTime"] = _now()

    def serve(self, model: str, files: dict[str, bytes]) -> None:
        """What ``model``'s download endpoint lists (file name -> bytes)."""
        with self.lock:
            self.model_files[model] = dict(files)

    def expire_urls(self) -> None:
        with self.lock:
            for url in self.signed:
                url["expired"] = True

    def sign(self, model: str, name: str) -> str:
        with self.lock:
            self.signed.append({"model": model, "file": name, "token": secrets.token_hex(16), "expired": False})
            index, token = len(self.signed) - 1, self.signed[-1]["token"]
        return (f"{self.url}/signed/{index}?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Expires=3600"
                f"&X-Goog-Signature={token}")

    def view(self, job: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in job.items() if not k.startswith("_")}


class _Handler(FaultyHandler):
    server_fake: FakeFireworks
    routes = [
        ("POST", re.compile(r"^/v1/accounts/(?P<a>[^/]+)/datasets$"), "create_dataset"),
        ("GET", re.compile(r"^/v1/accounts/(?P<a>[^/]+)/datasets/(?P<id>[^/:]+)$"), "get_dataset"),
        ("POST", re.compile(r"^/v1/accounts/(?P<a>[^/]+)/datasets/(?P<id>[^/:]+):upload$"), "upload"),
        ("POST", re.compile(r"^/v1/accounts/(?P<a>[^/]+)/(?P<kind>supervisedFineTuningJobs|dpoJobs)$"), "create_job"),
        ("GET", re.compile(r"^/v1/accounts/(?P<a>[^/]+)/(?P<kind>supervisedFineTuningJobs|dpoJobs)$"), "list_jobs"),
        ("GET", re.compile(r"^/v1/accounts/(?P<a>[^/]+)/(?P<kind>supervisedFineTuningJobs|dpoJobs)/(?P<id>[^/:]+)$"),
         "get_job"),
        ("POST", re.compile(
            r"^/v1/accounts/(?P<a>[^/]+)/(?P<kind>supervisedFineTuningJobs|dpoJobs)/(?P<id>[^/:]+):cancel$"),
         "cancel_job"),
        ("GET", re.compile(r"^/v1/accounts/(?P<a>[^/]+)/models/(?P<id>[^/:]+):getDownloadEndpoint$"),
         "download_endpoint"),
        ("GET", re.compile(r"^/signed/(?P<index>[0-9]+)$"), "signed"),
    ]

    def reject(self, method: str, url_path: str, routed: Any) -> ApiError | None:
        if routed is not None and routed[0] == "signed":
            return None  # the storage host: the URL's signature is the credential
        return super().reject(method, url_path, routed)

    def error_body(self, err: ApiError) -> tuple[str, Any]:
        return "Status", rpc_status_body(err)

    def _account(self, m: Any) -> str:
        if m["a"] != self.server_fake.account:
            raise ApiError(403 if m["a"] else 404, f"no access to account {m['a']}")
        return m["a"]

    def _dataset(self, m: Any) -> dict[str, Any]:
        name = f"accounts/{self._account(m)}/datasets/{m['id']}"
        found = self.server_fake.datasets.get(name)
        if found is None:
            raise ApiError(404, f"dataset {name} not found")
        return found

    def _create_dataset(self, m: Any, _q: dict, raw: bytes) -> tuple:
        body = json.loads(raw or b"{}")
        dataset_id = body.get("datasetId") or ""
        if not re.fullmatch(r"[a-z0-9-]{1,63}", dataset_id):
            raise ApiError(400, f"invalid datasetId {dataset_id!r}")
        name = f"accounts/{self._account(m)}/datasets/{dataset_id}"
        with self.server_fake.lock:
            if name in self.server_fake.datasets:
                raise ApiError(409, f"dataset {name} already exists")
            self.server_fake.datasets[name] = {"name": name, "state": "UPLOADING", "createTime": _now(),
                                               **(body.get("dataset") or {})}
            return 200, "Dataset", dict(self.server_fake.datasets[name])

    def _get_dataset(self, m: Any, _q: dict, _raw: bytes) -> tuple:
        with self.server_fake.lock:
            return 200, "Dataset", dict(self._dataset(m))

    def _upload(self, m: Any, _q: dict, raw: bytes) -> tuple:
        form = multipart(raw, self.headers.get("Content-Type") or "")
        if "file" not in form:
            raise ApiError(400, "missing file")
        with self.server_fake.lock:
            dataset = self._dataset(m)
            self.server_fake.contents[dataset["name"]] = form["file"][1]
            dataset["state"] = "READY"
            dataset["exampleCount"] = str(form["file"][1].count(b"\n"))
        return 200, "UploadDatasetResponse", {}

    def _create_job(self, m: Any, query: dict, raw: bytes) -> tuple:
        fake = self.server_fake
        kind = m["kind"]
        job_id = query.get(_KINDS[kind]) or f"job-{len(fake.jobs) + 1}"
        body = json.loads(raw or b"{}")
        name = f"accounts/{self._account(m)}/{kind}/{job_id}"
        training = body.get("trainingConfig") if kind == "dpoJobs" else body
        if not isinstance(training, dict) or not training.get("baseModel"):
            raise ApiError(400, "baseModel is required")
        with fake.lock:
            if name in fake.jobs:
                raise ApiError(409, f"{name} already exists")
            dataset = fake.datasets.get(body.get("dataset") or "")
            if dataset is None or dataset["state"] != "READY":
                raise ApiError(400, f"dataset {body.get('dataset')!r} is not READY")
            output = f"accounts/{fake.account}/models/{job_id}"
            job = {**body, "name": name, "state": "JOB_STATE_CREATING", "createTime": _now(), "updateTime": _now(),
                   "_reads": 0, "_dataset": dataset["name"], "_epochs": training.get("epochs", 1)}
            if kind == "dpoJobs":
                job["trainingConfig"] = {**training, "outputModel": output}
            else:
                job["outputModel"] = output
            if fake.fail_next:
                job["_fail"], job["_error"], fake.fail_next = True, fake.fail_next, None
            fake.jobs[name] = job
            fake.created.set()
            return 200, kind, fake.view(job)

    def _job(self, m: Any) -> dict[str, Any]:
        name = f"accounts/{self._account(m)}/{m['kind']}/{m['id']}"
        job = self.server_fake.jobs.get(name)
        if job is None:
            raise ApiError(404, f"{name} not found")
        return job

    def _get_job(self, m: Any, _q: dict, _raw: bytes) -> tuple:
        with self.server_fake.lock:
            job = self._job(m)
            self.server_fake.advance(job)
            return 200, m["kind"], self.server_fake.view(job)

    def _list_jobs(self, m: Any, query: dict, _raw: bytes) -> tuple:
        fake = self.server_fake
        with fake.lock:
            prefix = f"accounts/{self._account(m)}/{m['kind']}/"
            jobs = [fake.view(j) for n, j in fake.jobs.items() if n.startswith(prefix)]
        size = int(query.get("pageSize") or 50)
        return 200, "list", {m["kind"]: jobs[:size], "nextPageToken": "", "totalSize": len(jobs)}

    def _cancel_job(self, m: Any, _q: dict, _raw: bytes) -> tuple:
        with self.server_fake.lock:
            job = self._job(m)
            if job["state"] in ("JOB_STATE_COMPLETED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
                raise ApiError(400, f"{job['name']} is {job['state']}")
            job["state"] = "JOB_STATE_CANCELLING"
            return 200, "Empty", {}

    def _download_endpoint(self, m: Any, _q: dict, _raw: bytes) -> tuple:
        fake = self.server_fake
        name = f"accounts/{self._account(m)}/models/{m['id']}"
        with fake.lock:
            files = fake.model_files.get(name)
            if files is None:
                raise ApiError(404, f"model {name} not found")
            urls = {file: fake.sign(name, file) for file in files}
        return 200, "GetModelDownloadEndpointResponse", {"filenameToSignedUrls": urls}

    def _signed(self, m: Any, query: dict, _raw: bytes) -> tuple:
        fake = self.server_fake
        with fake.lock:
            fake.storage_auth.append(self.headers.get("Authorization"))
            index = int(m["index"])
            url = fake.signed[index] if index < len(fake.signed) else None
            if url is None or query.get("X-Goog-Signature") != url["token"]:
                return 403, "bytes", _gcs_error("SignatureDoesNotMatch")
            if url["expired"]:
                return 400, "bytes", _gcs_error("ExpiredToken")
            return 200, "bytes", fake.model_files[url["model"]][url["file"]]
