"""Fault injection and JSON plumbing that every fake provider server shares.

    server.inject("POST", "/v1/fine-tunes", status=503)              # the next create: HTTP 503
    server.inject("POST", "/v1/fine-tunes", kind="reset", when="after")  # created, answer lost
    server.random_faults(0.26, seed=1)                               # any request, 26% of the time

``when="after"`` applies the fault once the request took effect (a job made whose answer never
arrives): what idempotency must survive. ``hang`` stalls the answer until :meth:`release`.
Every JSON answer is recorded with the schema it claims to follow (``answers``), so tests can
check it against the provider's own OpenAPI spec.

A fake subclasses :class:`FaultyServer` and :class:`FaultyHandler` and overrides only what its
provider does its own way: the error shape (:meth:`FaultyHandler.error_body`), the credentials
and unknown-URL answers (:meth:`FaultyHandler.reject`), what an injected status says
(:meth:`FaultyHandler.fault_error`), a path prefix (:meth:`FaultyHandler.route_path`), or what
faults and the request log key on (:meth:`FaultyHandler.fault_target`; Vertex: the operation).
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

try:
    from .loopback import LoopbackServer
except ImportError:  # a fake run by hand as a script
    from loopback import LoopbackServer  # type: ignore[no-redef]


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.extra = status, message, code, extra or {}


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    times: int
    status: int | None = None
    headers: dict[str, str] | None = None
    kind: str = "status"  # status, reset, delay, hang; truncate (when="after": half the body, then a reset)
    delay: float = 0.0
    when: str = "before"
    code: str | None = None  # the error code and message of a status fault (None: the provider's usual)
    message: str | None = None


#: A fault pattern for fakes whose faults key on an operation, not a path.
ANY_PATH = re.compile(".*")

#: google.rpc.Code names of HTTP statuses, for the Google-style error bodies (Vertex, Fireworks).
RPC_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
              409: "ALREADY_EXISTS", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE",
              503: "UNAVAILABLE"}


def rpc_status_body(err: "ApiError") -> dict[str, Any]:
    """``{"error": {"code", "message", "status"}}``: a google.rpc.Status error answer."""
    return {"error": {"code": err.status, "message": err.message, "status": RPC_STATUS.get(err.status, "UNKNOWN")}}


#: What a random fault is: mostly overload and rate limits, some resets, some lost answers.
RANDOM_KINDS = (("status", 503, "before"), ("status", 429, "before"), ("status", 500, "before"),
                ("reset", None, "before"), ("reset", None, "after"), ("status", 502, "after"))


class FaultyServer(LoopbackServer):
    """Faults, request log and answers shared by the fakes; subclasses route requests."""

    def _init_faults(self) -> None:
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.answers: list[tuple[str, Any]] = []
        self.created = threading.Event()
        self.fault_rate = 0.0
        self.faults_injected = 0
        self._rng = random.Random(0)
        self._fault_lock = threading.Lock()

    def inject(self, method: str, path: str, *, status: int | None = None, times: int = 1,
               headers: dict[str, str] | None = None, kind: str | None = None, delay: float = 0.0,
               when: str = "before", code: str | None = None, message: str | None = None) -> None:
        """Fault the next ``times`` requests whose path matches the regex ``path``; a status fault
        answers ``code`` and ``message`` if given."""
        self.add_fault(Fault(method.upper(), re.compile(f"^{path}$"), times, status, headers,
                             kind or ("status" if status else "reset"), delay, when, code, message))

    def add_fault(self, fault: Fault) -> None:
        with self._fault_lock:
            self.faults.append(fault)

    def random_faults(self, rate: float, seed: int = 0) -> None:
        """Fault each request with probability ``rate`` (a seeded mix of :data:`RANDOM_KINDS`)."""
        self.fault_rate, self._rng = rate, random.Random(seed)

    def release(self) -> None:
        self._release.set()

    def count(self, method: str, path: str) -> int:
        pattern = re.compile(f"^{path}$")
        return sum(1 for m, p, _ in list(self.requests) if m == method.upper() and pattern.match(p))

    def take_fault(self, method: str, path: str, when: str) -> Fault | None:
        with self._fault_lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and fault.when == when and fault.pattern.match(path):
                    fault.times -= 1
                    return fault
            if when == "before" and self.fault_rate and self._rng.random() < self.fault_rate:
                kind, status, at = self._rng.choice(RANDOM_KINDS)
                self.faults_injected += 1
                fault = Fault(method, re.compile(".*"), 0, status, {"retry-after": "0"} if status == 429 else None,
                              kind, 0.0, at)
                if at == "after":
                    self.faults.append(Fault(method, re.compile(re.escape(path) + "$"), 1, status, None, kind, 0.0,
                                             "after"))
                    return None
                return fault
        return None


class FaultyHandler(BaseHTTPRequestHandler):
    """Routes ``(METHOD, regex, name)`` in ``routes`` to ``self._NAME(match, query, raw)``, which
    returns ``(status, schema, body[, headers])``; schema ``bytes`` sends raw bytes."""

    server_fake: FaultyServer
    protocol_version = "HTTP/1.1"
    routes: list[tuple[str, re.Pattern[str], str]] = []
    json_type = "application/json"  # the Content-Type of JSON answers

    def log_message(self, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms each.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _reset(self) -> None:
        """Close with a TCP RST: the client sees a connection reset, not an answer."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def send_body(self, status: int, body: bytes, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def send_truncated(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        """The whole body announced (Content-Length), half of it sent, then the connection reset:
        a download that breaks off."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self._reset()

    def send_json(self, status: int, schema: str, body: Any, headers: dict[str, str] | None = None) -> None:
        self.server_fake.answers.append((schema, body))
        self.send_body(status, json.dumps(body).encode(), self.json_type, headers)

    def error_body(self, err: ApiError) -> tuple[str, Any]:
        """(schema, body) of an error answer, in the provider's shape."""
        return "Error", {"error": {"message": err.message, "code": err.code}}

    def authorized(self) -> bool:
        return bool(self.headers.get("Authorization"))

    def reject(self, method: str, url_path: str, routed: tuple[str, re.Match[str]] | None) -> ApiError | None:
        """The error a request gets before an endpoint sees it (``routed`` is None for an unknown
        URL), in the provider's order; default: missing credentials first, then the unknown URL."""
        if not self.authorized():
            return ApiError(401, "Invalid API key provided", "invalid_api_key")
        if routed is None:
            return ApiError(404, f"Unknown request URL: {method} {url_path}", "not_found")
        return None

    def fault_error(self, fault: Fault) -> ApiError:
        """The error an injected status fault answers."""
        status = fault.status or 500
        return ApiError(status, fault.message or ("rate limited" if status == 429 else f"server error {status}"),
                        fault.code or ("rate_limit" if status == 429 else "server_error"))

    def route_path(self, path: str) -> str:
        """The path routes, faults and the request log see (a fake strips an API version prefix here)."""
        return path

    def fault_target(self, method: str, routed: tuple[str, re.Match[str]] | None) -> str:
        """What faults and the request log key on: the HTTP method (a fake may name the operation)."""
        return method

    def dispatch(self, name: str, match: re.Match[str], query: dict[str, str], raw: bytes) -> tuple:
        return getattr(self, f"_{name}")(match, query, raw)

    def _apply(self, fault: Fault) -> bool:
        if fault.kind == "delay":
            time.sleep(fault.delay)
            return False
        if fault.kind == "hang":
            self.server_fake._release.wait(timeout=fault.delay or 30)
            self._reset()
            return True
        if fault.kind == "reset":
            self._reset()
            return True
        err = self.fault_error(fault)
        schema, body = self.error_body(err)
        self.send_json(err.status, schema, body, fault.headers)
        return True

    def _handle(self, method: str) -> None:
        fake = self.server_fake
        parts = urlsplit(self.path)
        path, query = self.route_path(parts.path), dict(parse_qsl(parts.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        routed = next(((name, m) for verb, pattern, name in self.routes
                       if verb == method and (m := pattern.match(path))), None)
        target = self.fault_target(method, routed)
        fake.requests.append((target, path, query))
        fault = fake.take_fault(target, path, "before")
        if fault is not None and self._apply(fault):
            return
        try:
            rejected = self.reject(method, parts.path, routed)
            if rejected is not None:
                raise rejected
            assert routed is not None
            result = self.dispatch(routed[0], routed[1], query, raw)
        except ApiError as err:
            schema, body = self.error_body(err)
            self.send_json(err.status, schema, body)
            return
        status, schema, body, *rest = result
        after = fake.take_fault(target, path, "after")
        headers = rest[0] if rest else None
        if after is not None and after.kind == "truncate":
            self.send_truncated(status, body if schema == "bytes" else json.dumps(body).encode(), headers)
            return
        if after is not None and self._apply(after):
            return
        if schema == "bytes":
            self.send_body(status, body, "application/octet-stream", headers)
        else:
            self.send_json(status, schema, body, headers)


def multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
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
