"""A stateful fake of the OpenAI files + fine-tuning API on 127.0.0.1, for the real ``openai`` SDK.

    with FakeOpenAI() as server:                     # a ThreadingHTTPServer in a daemon thread
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        server.inject("POST", "/fine_tuning/jobs", status=429, headers={"retry-after": "0"})
        ...
        assert server.count("POST", "/fine_tuning/jobs") == 2

Faults (:meth:`FakeOpenAI.inject`) answer a matching request with an HTTP error, reset the
connection, or stall it; ``when="after"`` applies the fault *after* the request took effect (a
job created whose answer is lost), which is what idempotency must survive. ``hang`` stalls a
response until :meth:`release` (or a timeout), so a test can kill the client at that moment.
Every JSON answer is recorded with the OpenAPI schema it claims to follow (``server.answers``),
so a test can check them against the official spec. Azure's paths (``/openai/...``) are served
too. The server stops by itself after ``lifetime`` seconds.
"""

from __future__ import annotations

import json
import random
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .loopback import LoopbackServer
from .openai_state import ApiError, State, dumps


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    times: int
    status: int | None = None
    headers: dict[str, str] | None = None
    code: str | None = None
    kind: str = "status"  # status, reset, delay, hang
    delay: float = 0.0
    when: str = "before"  # before: instead of handling; after: once the request took effect
    message: str | None = None


def _page(items: list[dict[str, Any]], query: dict[str, str], default_limit: int = 20) -> tuple[list, bool]:
    """OpenAI cursor pagination: ``after`` = the id of the last item of the previous page."""
    after = query.get("after")
    if after:
        ids = [i["id"] for i in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    limit = max(1, min(int(query.get("limit") or default_limit), 10_000))
    return items[:limit], len(items) > limit


class FakeOpenAI(LoopbackServer):
    def __init__(self, *, clock: str = "time", tick_seconds: float = 0.002, api_key: str | None = None,
                 lifetime: float = 120.0):
        self.state = State(clock, tick_seconds)
        self.api_key = api_key
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.answers: list[tuple[str, Any]] = []  # (schema name, JSON body)
        self.created = threading.Event()  # set when a job is created
        self.reject_metadata_filter = False  # answer 400 to ?metadata[...] like a service without the filter
        self.fault_rate, self.faults_injected, self._rng = 0.0, 0, random.Random(0)  # see random_faults()
        self._lock = threading.Lock()
        self._serve(_Handler, 0, lifetime)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- test control --------------------------------------------------------------------------
    def inject(self, method: str, path: str, *, status: int | None = None, times: int = 1,
               headers: dict[str, str] | None = None, code: str | None = None, kind: str | None = None,
               delay: float = 0.0, when: str = "before", message: str | None = None) -> None:
        """Fault the next ``times`` requests whose path (after /v1) matches the regex ``path``."""
        kind = kind or ("status" if status else "reset")
        with self._lock:
            self.faults.append(Fault(method.upper(), re.compile(f"^{path}$"), times, status, headers, code,
                                     kind, delay, when, message))

    def random_faults(self, rate: float, seed: int = 0) -> None:
        """Fault each request with probability ``rate``: a seeded mix of 503/429/500, resets, and
        answers lost after the request took effect (the soak benchmark's weather)."""
        self.fault_rate, self._rng = rate, random.Random(seed)

    def release(self) -> None:
        """Let responses stalled by a ``hang`` fault go (they then reset the connection)."""
        self._release.set()

    def count(self, method: str, path: str) -> int:
        pattern = re.compile(f"^{path}$")
        return sum(1 for m, p, _ in list(self.requests) if m == method.upper() and pattern.match(p))

    @property
    def jobs(self) -> dict[str, Any]:
        return self.state.jobs

    def _fault(self, method: str, path: str, when: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and fault.when == when and fault.pattern.match(path):
                    fault.times -= 1
                    return fault
            if when == "before" and self.fault_rate and self._rng.random() < self.fault_rate:
                from .faults import RANDOM_KINDS

                kind, status, at = self._rng.choice(RANDOM_KINDS)
                self.faults_injected += 1
                fault = Fault(method, re.compile(re.escape(path) + "$"), 1, status,
                              {"retry-after": "0"} if status == 429 else None, None, kind, 0.0, at)
                if at == "after":
                    self.faults.append(fault)
                    return None
                return fault
        return None


_MESSAGES = {429: "Rate limit reached for requests", 500: "The server had an error while processing your request",
             502: "Bad gateway", 503: "The engine is currently overloaded"}

_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    ("POST", re.compile(r"^/files$"), "upload"),
    ("GET", re.compile(r"^/files$"), "list_files"),
    ("GET", re.compile(r"^/files/(?P<id>[^/]+)$"), "get_file"),
    ("DELETE", re.compile(r"^/files/(?P<id>[^/]+)$"), "delete_file"),
    ("GET", re.compile(r"^/files/(?P<id>[^/]+)/content$"), "file_content"),
    ("POST", re.compile(r"^/fine_tuning/jobs$"), "create_job"),
    ("GET", re.compile(r"^/fine_tuning/jobs$"), "list_jobs"),
    ("GET", re.compile(r"^/fine_tuning/jobs/(?P<id>[^/]+)$"), "get_job"),
    ("POST", re.compile(r"^/fine_tuning/jobs/(?P<id>[^/]+)/cancel$"), "cancel_job"),
    ("GET", re.compile(r"^/fine_tuning/jobs/(?P<id>[^/]+)/events$"), "events"),
    ("GET", re.compile(r"^/fine_tuning/jobs/(?P<id>[^/]+)/checkpoints$"), "checkpoints"),
    ("POST", re.compile(r"^/chat/completions$"), "chat"),  # tests/fakes/openai_chat.py
    ("POST", re.compile(r"^/deployments/(?P<id>[^/]+)/chat/completions$"), "chat"),
]


def _multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """name -> (filename, content) of a multipart/form-data body."""
    match = re.search(r"boundary=\"?([^\";]+)\"?", content_type)
    if not match:
        raise ApiError(400, "expected multipart/form-data")
    out: dict[str, tuple[str | None, bytes]] = {}
    for part in body.split(b"--" + match.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.partition(b"\r\n\r\n")
        disposition = head.decode(errors="replace")
        name = re.search(r'name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name:
            out[name.group(1)] = (filename.group(1) if filename else None, content.removesuffix(b"\r\n"))
    return out


class _Handler(BaseHTTPRequestHandler):
    server_fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- plumbing --------------------------------------------------------------------------------
    def _reset(self) -> None:
        """Close with a TCP RST: the client sees a connection reset, not an answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-request-id", f"req_{int(time.time() * 1000)}")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _json(self, status: int, schema: str, body: Any, headers: dict[str, str] | None = None) -> None:
        self.server_fake.answers.append((schema, body))
        self._send(status, dumps(body), headers=headers)

    def _error(self, err: ApiError, headers: dict[str, str] | None = None) -> None:
        self._json(err.status, "ErrorResponse", err.body(), headers)

    def _apply(self, fault: Fault) -> bool:
        """Apply a fault; True when nothing more may be sent."""
        fake = self.server_fake
        if fault.kind == "delay":
            time.sleep(fault.delay)
            return False
        if fault.kind == "hang":
            fake._release.wait(timeout=fault.delay or 30)
            self._reset()
            return True
        if fault.kind == "reset":
            self._reset()
            return True
        status = fault.status or 500
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        message = fault.message or _MESSAGES.get(status, f"HTTP {status}")
        self._error(ApiError(status, message, fault.code or kind, None,
                             "requests" if status == 429 else "server_error"), fault.headers)
        return True

    def _handle(self, method: str) -> None:
        fake = self.server_fake
        parts = urlsplit(self.path)
        path = re.sub(r"^/(v1|openai)", "", parts.path)
        query = dict(parse_qsl(parts.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake.requests.append((method, path, query))
        fault = fake._fault(method, path, "before")
        if fault is not None and self._apply(fault):
            return
        key = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip() or self.headers.get("api-key")
        if not key or (fake.api_key is not None and key != fake.api_key):
            self._error(ApiError(401, "Incorrect API key provided.", "invalid_api_key", None))
            return
        routed = next(((name, m) for verb, pattern, name in _ROUTES
                       if verb == method and (m := pattern.match(path))), None)
        if routed is None:
            self._error(ApiError(404, f"Unknown request URL: {method} {parts.path}", "unknown_url"))
            return
        name, match = routed
        try:
            status, schema, body = getattr(self, f"_{name}")(match.groupdict().get("id"), query, raw)
        except ApiError as err:
            self._error(err)
            return
        after = fake._fault(method, path, "after")
        if after is not None and self._apply(after):
            return
        if schema == "bytes":
            self._send(status, body, "application/octet-stream")
        else:
            self._json(status, schema, body)

    # -- endpoints (id, query, raw body) -> (status, schema, body) ---------------------------------
    def _chat(self, deployment: Any, _query: dict, raw: bytes) -> tuple[int, str, Any]:
        from .openai_chat import chat_completion

        return chat_completion(self.server_fake, deployment, raw)

    def _upload(self, _id: Any, _query: dict, raw: bytes) -> tuple[int, str, Any]:
        form = _multipart(raw, self.headers.get("Content-Type") or "")
        if "file" not in form or "purpose" not in form:
            raise ApiError(400, "Missing required parameter: 'file' and 'purpose'.")
        filename, content = form["file"]
        purpose = form["purpose"][1].decode()
        return 200, "OpenAIFile", self.server_fake.state.add_file(filename or "upload", content, purpose)

    def _list_files(self, _id: Any, query: dict, _raw: bytes) -> tuple[int, str, Any]:
        items, more = _page(self.server_fake.state.list_files(query.get("purpose")), query, 10_000)
        return 200, "ListFilesResponse", {"object": "list", "data": items, "has_more": more,
                                          "first_id": items[0]["id"] if items else "",
                                          "last_id": items[-1]["id"] if items else ""}

    def _get_file(self, file_id: str, _query: dict, _raw: bytes) -> tuple[int, str, Any]:
        return 200, "OpenAIFile", self.server_fake.state.get_file(file_id)

    def _delete_file(self, file_id: str, _query: dict, _raw: bytes) -> tuple[int, str, Any]:
        return 200, "DeleteFileResponse", self.server_fake.state.delete_file(file_id)

    def _file_content(self, file_id: str, _query: dict, _raw: bytes) -> tuple[int, str, Any]:
        state = self.server_fake.state
        state.get_file(file_id)
        return 200, "bytes", state.contents[file_id]

    def _create_job(self, _id: Any, _query: dict, raw: bytes) -> tuple[int, str, Any]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(400, "We could not parse the JSON body of your request.") from None
        job = self.server_fake.state.create_job(body)
        self.server_fake.created.set()
        return 200, "FineTuningJob", job

    def _list_jobs(self, _id: Any, query: dict, _raw: bytes) -> tuple[int, str, Any]:
        metadata = {k[len("metadata["):-1]: v for k, v in query.items() if k.startswith("metadata[")}
        if metadata and self.server_fake.reject_metadata_filter:
            raise ApiError(400, "Unrecognized request argument supplied: metadata", None, "metadata")
        items, more = _page(self.server_fake.state.list_jobs(metadata), query)
        return 200, "ListPaginatedFineTuningJobsResponse", {"object": "list", "data": items, "has_more": more}

    def _get_job(self, job_id: str, _query: dict, _raw: bytes) -> tuple[int, str, Any]:
        return 200, "FineTuningJob", self.server_fake.state.get_job(job_id)

    def _cancel_job(self, job_id: str, _query: dict, _raw: bytes) -> tuple[int, str, Any]:
        return 200, "FineTuningJob", self.server_fake.state.cancel_job(job_id)

    def _events(self, job_id: str, query: dict, _raw: bytes) -> tuple[int, str, Any]:
        items, more = _page(self.server_fake.state.events(job_id), query)
        return 200, "ListFineTuningJobEventsResponse", {"object": "list", "data": items, "has_more": more}

    def _checkpoints(self, job_id: str, query: dict, _raw: bytes) -> tuple[int, str, Any]:
        items, more = _page(self.server_fake.state.checkpoints(job_id), query, 10)
        return 200, "ListFineTuningJobCheckpointsResponse", {
            "object": "list", "data": items, "has_more": more,
            "first_id": items[0]["id"] if items else None, "last_id": items[-1]["id"] if items else None}
