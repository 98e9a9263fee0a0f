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
import re
import time
from typing import Any

from . import faults
from .faults import FaultyHandler, FaultyServer, multipart
from .openai_state import ApiError, State


def _page(items: list[dict[str, Any]], query: dict[str, str], default_limit: int = 20) -> tuple[list, bool]:
    """OpenAI cursor pagination: ``after`` = the id of the last item of the previous page."""
    after = query.get("after")
    if after:
        ids = [i["id"] for i in items]
        items = items[ids.index(after) + 1:] if after in ids else []
    limit = max(1, min(int(query.get("limit") or default_limit), 10_000))
    return items[:limit], len(items) > limit


class FakeOpenAI(FaultyServer):
    """Faults (``inject``, ``random_faults``, ``release``, ``count``) as in :mod:`.faults`; paths
    are matched after the ``/v1`` (or Azure's ``/openai``) prefix, and a status fault may say its
    own ``code`` and ``message``."""

    def __init__(self, *, clock: str = "time", tick_seconds: float = 0.002, api_key: str | None = None,
                 lifetime: float = 120.0):
        self._init_faults()
        self.state = State(clock, tick_seconds)
        self.api_key = api_key
        self.reject_metadata_filter = False  # answer 400 to ?metadata[...] like a service without the filter
        self._serve(_Handler, 0, lifetime)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jobs(self) -> dict[str, Any]:
        return self.state.jobs


_MESSAGES = {429: "Rate limit reached for requests", 500: "The server had an error while processing your request",
             502: "Bad gateway", 503: "The engine is currently overloaded"}


class _Handler(FaultyHandler):
    server_fake: FakeOpenAI
    routes = [
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

    # -- what OpenAI does its own way ------------------------------------------------------------
    def send_body(self, status: int, body: bytes, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:
        super().send_body(status, body, content_type,
                          {"x-request-id": f"req_{int(time.time() * 1000)}", **(headers or {})})

    def error_body(self, err: faults.ApiError) -> tuple[str, Any]:
        if not isinstance(err, ApiError):  # the shared plumbing's own (a body it cannot parse)
            err = ApiError(err.status, err.message, err.code)
        return "ErrorResponse", err.body()

    def route_path(self, path: str) -> str:
        return re.sub(r"^/(v1|openai)", "", path)

    def reject(self, method: str, url_path: str, routed: Any) -> ApiError | None:
        fake = self.server_fake
        key = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip() or self.headers.get("api-key")
        if not key or (fake.api_key is not None and key != fake.api_key):
            return ApiError(401, "Incorrect API key provided.", "invalid_api_key", None)
        if routed is None:
            return ApiError(404, f"Unknown request URL: {method} {url_path}", "unknown_url")
        return None

    def fault_error(self, fault: faults.Fault) -> ApiError:
        status = fault.status or 500
        return ApiError(status, fault.message or _MESSAGES.get(status, f"HTTP {status}"),
                        fault.code or ("rate_limit_exceeded" if status == 429 else "server_error"), None,
                        "requests" if status == 429 else "server_error")

    # -- endpoints (match, query, raw body) -> (status, schema, body) ------------------------------
    def _chat(self, m: re.Match[str], _query: dict, raw: bytes) -> tuple[int, str, Any]:
        from .openai_chat import chat_completion

        return chat_completion(self.server_fake, m.groupdict().get("id"), raw)

    def _upload(self, _m: Any, _query: dict, raw: bytes) -> tuple[int, str, Any]:
        form = multipart(raw, self.headers.get("Content-Type") or "")
        if "file" not in form or "purpose" not in form:
            raise ApiError(400, "Missing required parameter: 'file' and 'purpose'.")
        filename, content = form["file"]
        purpose = form["purpose"][1].decode()
        return 200, "OpenAIFile", self.server_fake.state.add_file(filename or "upload", content, purpose)

    def _list_files(self, _m: Any, query: dict, _raw: bytes) -> tuple[int, str, Any]:
        items, more = _page(self.server_fake.state.list_files(query.get("purpose")), query, 10_000)
        return 200, "ListFilesResponse", {"object": "list", "data": items, "has_more": more,
                                          "first_id": items[0]["id"] if items else "",
                                          "last_id": items[-1]["id"] if items else ""}

    def _get_file(self, m: re.Match[str], _query: dict, _raw: bytes) -> tuple[int, str, Any]:
        return 200, "OpenAIFile", self.server_fake.state.get_file(m["id"])

    def _delete_file(self, m: re.Match[str], _query: dict, _raw: bytes) -> tuple[int, str, Any]:
        return 200, "DeleteFileResponse", self.server_fake.state.delete_file(m["id"])

    def _file_content(self, m: re.Match[str], _query: dict, _raw: bytes) -> tuple[int, str, Any]:
        file_id = m["id"]
        state = self.server_fake.state
        state.get_file(file_id)
        return 200, "bytes", state.contents[file_id]

    def _create_job(self, _m: Any, _query: dict, raw: bytes) -> tuple[int, str, Any]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise ApiError(400, "We could not parse the JSON body of your request.") from None
        job = self.server_fake.state.create_job(body)
        self.server_fake.created.set()
        return 200, "FineTuningJob", job

    def _list_jobs(self, _m: Any, query: dict, _raw: bytes) -> tuple[int, str, Any]:
        metadata = {k[len("metadata["):-1]: v for k, v in query.items() if k.startswith("metadata[")}
        if metadata and self.server_fake.reject_metadata_filter:
            raise ApiError(400, "Unrecognized request argument supplied: metadata", None, "metadata")
        items, more = _page(self.server_fake.state.list_jobs(metadata), query)
        return 200, "ListPaginatedFineTuningJobsResponse", {"object": "list", "data": items, "has_more": more}

    def _get_job(self, m: re.Match[str], _query: dict, _raw: bytes) -> tuple[int, str, Any]:
        return 200, "FineTuningJob", self.server_fake.state.get_job(m["id"])

    def _cancel_job(self, m: re.Match[str], _query: dict, _raw: bytes) -> tuple[int, str, Any]:
        return 200, "FineTuningJob", self.server_fake.state.cancel_job(m["id"])

    def _events(self, m: re.Match[str], query: dict, _raw: bytes) -> tuple[int, str, Any]:
        items, more = _page(self.server_fake.state.events(m["id"]), query)
        return 200, "ListFineTuningJobEventsResponse", {"object": "list", "data": items, "has_more": more}

    def _checkpoints(self, m: re.Match[str], query: dict, _raw: bytes) -> tuple[int, str, Any]:
        items, more = _page(self.server_fake.state.checkpoints(m["id"]), query, 10)
        return 200, "ListFineTuningJobCheckpointsResponse", {
            "object": "list", "data": items, "has_more": more,
            "first_id": items[0]["id"] if items else None, "last_id": items[-1]["id"] if items else None}
