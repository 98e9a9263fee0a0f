"""A stateful fake of Vertex AI's ``tuningJobs`` REST API on 127.0.0.1, for the real google-genai SDK.

    with FakeVertex(read_uri=gcs.read) as server:       # ThreadingHTTPServer in a daemon thread
        monkeypatch.setenv("FTX_VERTEX_ENDPOINT", server.url)
        server.inject("create", status=429, headers={"retry-after": "0"})
        ...
        assert len(server.creates) == 1

Served: ``POST/GET {v1,v1beta1}/projects/P/locations/L/tuningJobs`` (create; list with
``filter=labels.KEY="VALUE"``, ``pageSize``, ``pageToken``), ``GET .../tuningJobs/ID`` and
``POST .../tuningJobs/ID:cancel``, answering in the shapes Vertex does (proto JSON: camelCase,
int64 as strings, enums as names, ``{"error": {"code", "message", "status"}}``). Requests are
checked like the real service checks them: a bearer token, known fields only, label syntax,
adapter sizes, and (with ``read_uri``) that the dataset URIs name objects that exist.

Each job walks ``script`` (default PENDING, RUNNING, RUNNING, SUCCEEDED), one state per GET of
that job, so a test polling with ``FTX_POLL_INTERVAL=0`` sees a whole life in milliseconds;
``auto_advance=False`` freezes jobs until :meth:`advance`. Faults (:meth:`inject`) answer the
next matching call with an HTTP error, reset the connection or stall it (``hang``, until
:meth:`release`); ``when="after"`` applies them once the call took effect (a job created whose
answer is lost).
"""

from __future__ import annotations

import itertools
import json
import math
import re
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable

try:
    from .faults import ANY_PATH, ApiError, Fault, FaultyHandler, FaultyServer, rpc_status_body
except ImportError:  # run by hand as a script
    from faults import (ANY_PATH, ApiError, Fault, FaultyHandler, FaultyServer,  # type: ignore[no-redef]
                        rpc_status_body)

DEFAULT_SCRIPT = ("JOB_STATE_PENDING", "JOB_STATE_RUNNING", "JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED")
TERMINAL = {"JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED", "JOB_STATE_EXPIRED"}
ADAPTER_SIZES = {"ADAPTER_SIZE_ONE", "ADAPTER_SIZE_TWO", "ADAPTER_SIZE_FOUR", "ADAPTER_SIZE_EIGHT",
                 "ADAPTER_SIZE_SIXTEEN"}
SPECS = {"supervisedTuningSpec": "supervisedTuningDataStats",
         "preferenceOptimizationSpec": "preferenceOptimizationDataStats"}
JOB_FIELDS = {"baseModel", "tunedModelDisplayName", "description", "labels", *SPECS}
SPEC_FIELDS = {"trainingDatasetUri", "validationDatasetUri", "hyperParameters", "exportLastCheckpointOnly"}
HYPER_FIELDS = {"epochCount", "learningRateMultiplier", "adapterSize", "beta"}
LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_ROUTES = [
    ("POST", re.compile(r"^/(?P<parent>projects/[^/]+/locations/[^/]+)/tuningJobs$"), "create"),
    ("GET", re.compile(r"^/(?P<parent>projects/[^/]+/locations/[^/]+)/tuningJobs$"), "list"),
    ("GET", re.compile(r"^/(?P<parent>projects/[^/]+/locations/[^/]+)/tuningJobs/(?P<id>[0-9]+)$"), "get"),
    ("POST", re.compile(r"^/(?P<parent>projects/[^/]+/locations/[^/]+)/tuningJobs/(?P<id>[0-9]+):cancel$"), "cancel"),
    # tests/fakes/vertex_generate.py
    ("POST", re.compile(r"^/(?P<model>projects/[^/]+/locations/[^/]+/(publishers/google/models|endpoints)/[^/:]+)"
                        r":generateContent$"), "generate"),
]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class FakeVertex(FaultyServer):
    """Faults and the request log (:mod:`.faults`) key on the operation: create, get, list,
    cancel, generate."""

    def __init__(self, *, token: str | None = "test-token", script: tuple[str, ...] = DEFAULT_SCRIPT,
                 error: dict[str, Any] | None = None, read_uri: Callable[[str], bytes | None] | None = None,
                 auto_advance: bool = True, default_epochs: int = 3, lifetime: float | None = 120.0,
                 port: int = 0):
        self._init_faults()
        self.token = token
        self.script, self.error = tuple(script), error
        self.read_uri = read_uri
        self.auto_advance = auto_advance
        self.default_epochs = default_epochs
        self.jobs: dict[str, dict[str, Any]] = {}
        self.creates: list[dict[str, Any]] = []  # every create body that made a job
        self._lock = threading.RLock()
        self._ids = itertools.count(4_000_000_000_000_000_001)
        self._private: dict[str, dict[str, Any]] = {}  # job id -> script position, script, error
        self._serve(_Handler, port, lifetime)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- test control ----------------------------------------------------------------------------
    def inject(self, op: str, *, status: int | None = None, times: int = 1,  # type: ignore[override]
               kind: str | None = None, headers: dict[str, str] | None = None, when: str = "before") -> None:
        """Fault the next ``times`` calls of ``op`` (create, get, list, cancel)."""
        self.add_fault(Fault(op, ANY_PATH, times, status, headers, kind or ("status" if status else "reset"),
                             when=when))

    def count(self, op: str) -> int:  # type: ignore[override]
        return sum(1 for o, _, _ in list(self.requests) if o == op)

    def advance(self, job_id: str, steps: int = 1) -> dict[str, Any]:
        with self._lock:
            for _ in range(steps):
                self._step(job_id)
            return self.jobs[job_id]

    def job_id(self, name: str) -> str:
        return name.rsplit("/", 1)[-1]

    # -- state -----------------------------------------------------------------------------------
    def create(self, parent: str, body: dict[str, Any]) -> dict[str, Any]:
        self._check_body(body)
        with self._lock:
            job_id = str(next(self._ids))
            spec_name = next(k for k in SPECS if k in body)
            spec = json.loads(json.dumps(body[spec_name]))
            hyper = spec.setdefault("hyperParameters", {})
            hyper["epochCount"] = str(hyper.get("epochCount") or self.default_epochs)  # int64: a string
            hyper.setdefault("adapterSize", "ADAPTER_SIZE_FOUR")
            hyper.setdefault("learningRateMultiplier", 1)
            job = {"name": f"{parent}/tuningJobs/{job_id}", "baseModel": body["baseModel"],
                   "tunedModelDisplayName": body.get("tunedModelDisplayName") or f"{body['baseModel']}-tuned",
                   "state": "JOB_STATE_QUEUED", "createTime": _now(), "updateTime": _now(), spec_name: spec}
            for key in ("labels", "description"):
                if key in body:
                    job[key] = body[key]
            self.jobs[job_id] = job
            self._private[job_id] = {"pos": -1, "script": self.script, "error": self.error, "spec": spec_name}
            self.creates.append(body)
            self._step(job_id)
            self.created.set()
            return job

    def _step(self, job_id: str) -> None:
        job, private = self.jobs[job_id], self._private[job_id]
        if job["state"] in TERMINAL:
            return
        if job["state"] == "JOB_STATE_CANCELLING":
            state = "JOB_STATE_CANCELLED"
        elif private["pos"] + 1 < len(private["script"]):
            private["pos"] += 1
            state = private["script"][private["pos"]]
        else:
            return
        job["state"] = state
        job["updateTime"] = _now()
        parent = job["name"].split("/tuningJobs/")[0]
        if state == "JOB_STATE_RUNNING":
            job.setdefault("startTime", _now())
            job["tuningDataStats"] = {SPECS[private["spec"]]: self._stats(job[private["spec"]])}
        if state in TERMINAL:
            job["endTime"] = _now()
        if state == "JOB_STATE_SUCCEEDED":
            endpoint = f"{parent}/endpoints/{int(job_id) % 10_000_019}"
            epochs = int(job[private["spec"]]["hyperParameters"]["epochCount"])
            job["tunedModel"] = {"model": f"{parent}/models/{int(job_id) % 9_999_991}@1", "endpoint": endpoint,
                                 "checkpoints": [{"checkpointId": str(e), "epoch": str(e), "step": str(e * 5),
                                                  "endpoint": endpoint} for e in range(1, epochs + 1)]}
        if state == "JOB_STATE_FAILED":
            job["error"] = private["error"] or {"code": 13, "message": "Internal error occurred."}
        if state == "JOB_STATE_CANCELLED":
            job["error"] = {"code": 1, "message": "CANCELED"}

    def _stats(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Example and billable-token counts of the training file: ceil(characters / 4) per example."""
        raw = self.read_uri(spec["trainingDatasetUri"]) if self.read_uri else None
        lines = [json.loads(line) for line in (raw or b"").decode().splitlines() if line.strip()]
        tokens = sum(math.ceil(len("".join(_texts(r))) / 4) for r in lines)
        return {"tuningDatasetExampleCount": str(len(lines)), "totalBillableTokenCount": str(tokens),
                "tuningStepCount": str(5 * int(spec["hyperParameters"]["epochCount"]))}

    def _check_body(self, body: Any) -> None:
        """Reject what Vertex rejects: unknown fields, a missing model or spec, bad enums, URIs, labels."""
        def unknown(keys: Any, known: set[str], where: str) -> None:
            for key in keys:
                if key not in known:
                    raise ApiError(400, f'Invalid JSON payload received. Unknown name "{key}" at \'{where}\'.')

        if not isinstance(body, dict) or not body.get("baseModel"):
            raise ApiError(400, "base_model is required.")
        unknown(body, JOB_FIELDS, "tuning_job")
        specs = [k for k in SPECS if k in body]
        if len(specs) != 1:
            raise ApiError(400, "Exactly one tuning spec must be set.")
        spec = body[specs[0]]
        unknown(spec, SPEC_FIELDS, specs[0])
        unknown(spec.get("hyperParameters") or {}, HYPER_FIELDS, "hyperParameters")
        if (spec.get("hyperParameters") or {}).get("adapterSize", "ADAPTER_SIZE_ONE") not in ADAPTER_SIZES:
            raise ApiError(400, f"Invalid value at 'adapterSize': {spec['hyperParameters']['adapterSize']}")
        if not spec.get("trainingDatasetUri"):
            raise ApiError(400, "training_dataset_uri is required.")
        for uri in filter(None, (spec.get("trainingDatasetUri"), spec.get("validationDatasetUri"))):
            if not str(uri).startswith("gs://"):
                raise ApiError(400, f"A dataset must be a Cloud Storage URI (gs://...), not {uri!r}.")
            if self.read_uri is not None and self.read_uri(uri) is None:
                raise ApiError(400, f"Dataset {uri} does not exist or cannot be read.")
        labels = body.get("labels") or {}
        bad = [k for k, v in labels.items() if not LABEL_KEY.match(k) or not isinstance(v, str)
               or not LABEL_VALUE.match(v)]
        if len(labels) > 64 or bad:
            raise ApiError(400, f"Invalid labels {bad or len(labels)}: at most 64; keys and values [a-z0-9_-], "
                                "at most 63 characters, keys start with a letter.")

    def list(self, parent: str, query: dict[str, str]) -> dict[str, Any]:
        wanted: dict[str, str] = {}
        for clause in filter(None, re.split(r"\s+AND\s+", query.get("filter", "").strip())):
            match = re.fullmatch(r'labels\.([a-z0-9_-]+)\s*=\s*"?([^"]*)"?', clause)
            if not match:
                raise ApiError(400, f"Unsupported filter: {clause}")
            wanted[match.group(1)] = match.group(2)
        with self._lock:
            items = [j for j in self.jobs.values() if j["name"].startswith(parent + "/")
                     and all((j.get("labels") or {}).get(k) == v for k, v in wanted.items())]
        items.sort(key=lambda j: j["createTime"], reverse=True)
        start = int(query.get("pageToken") or 0)
        size = max(1, min(int(query.get("pageSize") or 50), 100))
        out: dict[str, Any] = {"tuningJobs": items[start:start + size]}
        if start + size < len(items):
            out["nextPageToken"] = str(start + size)
        return out

    def get(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            if job_id not in self.jobs:
                raise ApiError(404, f"TuningJob {job_id} not found.")
            if self.auto_advance:
                self._step(job_id)
            return self.jobs[job_id]

    def cancel(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self.jobs.get(job_id)
            if job is None:
                raise ApiError(404, f"TuningJob {job_id} not found.")
            if job["state"] in TERMINAL:
                raise ApiError(400, f"Cannot cancel tuning job {job['name']} in state {job['state']}.")
            job["state"] = "JOB_STATE_CANCELLING"
            return {}


_FAULT_MESSAGES = {429: "Quota exceeded for aiplatform.googleapis.com/tuning_requests.",
                   503: "The service is currently unavailable."}


class _Handler(FaultyHandler):
    server_fake: FakeVertex
    routes = _ROUTES
    json_type = "application/json; charset=UTF-8"

    def error_body(self, err: ApiError) -> tuple[str, Any]:
        return "Status", rpc_status_body(err)

    def route_path(self, path: str) -> str:
        return re.sub(r"^/v1(beta1)?(?=/)", "", path)

    def fault_target(self, method: str, routed: Any) -> str:
        return routed[0] if routed else method

    def reject(self, method: str, url_path: str, routed: Any) -> ApiError | None:
        if routed is None:
            return ApiError(404, f"Unknown request URL: {method} {url_path}")
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if not token or (self.server_fake.token is not None and token != self.server_fake.token):
            return ApiError(401, "Request had invalid authentication credentials.")
        return None

    def fault_error(self, fault: Fault) -> ApiError:
        status = fault.status or 500
        return ApiError(status, _FAULT_MESSAGES.get(status, "Internal error encountered."))

    def dispatch(self, name: str, match: re.Match[str], query: dict[str, str], raw: bytes) -> tuple:
        try:
            return super().dispatch(name, match, query, raw)
        except ValueError:
            raise ApiError(400, "Invalid JSON payload received.") from None

    # -- endpoints (match, query, raw body) -> (status, schema, body) ------------------------------
    def _create(self, m: re.Match[str], _query: dict, raw: bytes) -> tuple:
        return 200, "TuningJob", self.server_fake.create(m["parent"], json.loads(raw or b"{}"))

    def _list(self, m: re.Match[str], query: dict, _raw: bytes) -> tuple:
        return 200, "ListTuningJobsResponse", self.server_fake.list(m["parent"], query)

    def _get(self, m: re.Match[str], _query: dict, _raw: bytes) -> tuple:
        return 200, "TuningJob", self.server_fake.get(m["id"])

    def _cancel(self, m: re.Match[str], _query: dict, _raw: bytes) -> tuple:
        return 200, "Empty", self.server_fake.cancel(m["id"])

    def _generate(self, m: re.Match[str], _query: dict, raw: bytes) -> tuple:
        from .vertex_generate import generate_content

        body = json.loads(raw or b"{}")
        return 200, "GenerateContentResponse", generate_content(self.server_fake, m["model"], body)


def _texts(value: Any):
    """Every ``text`` part in a record, in order."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "text" and isinstance(item, str):
                yield item
            else:
                yield from _texts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _texts(item)


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


if __name__ == "__main__":  # by hand: python tests/fakes/vertex_server.py --port 9024 [--gcs URL]
    import argparse

    from gcs import remote_reader

    parser = argparse.ArgumentParser(description="a fake Vertex AI tuningJobs API on 127.0.0.1 (any token)")
    parser.add_argument("--port", type=int, default=9024)
    parser.add_argument("--gcs", help="Cloud Storage emulator URL: check and count the staged datasets")
    parser.add_argument("--step-seconds", type=float, default=2.0, help="seconds between job states")
    args = parser.parse_args()
    fake = FakeVertex(token=None, read_uri=remote_reader(args.gcs) if args.gcs else None, auto_advance=False,
                      lifetime=None, port=args.port).start()
    print(f"fake Vertex AI on {fake.url} (Ctrl-C stops it)", flush=True)
    try:
        while True:
            time.sleep(args.step_seconds)
            for job_id in list(fake.jobs):
                fake.advance(job_id)
    except KeyboardInterrupt:
        fake.stop()
