"""Google client errors in ftx's terms: :class:`TransientError` (worth retrying) or
:class:`ProviderError` (stop, with Google's status name as the error code).

google-genai and google-cloud-storage are called with their own retries off, so every retry is
ftx's (``ftx.hosted.retry``): 408, 429, 5xx, ``ABORTED`` and connection failures (refused,
reset, timed out) are transient; everything else is final.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from ftx.hosted import ProviderError, TransientError, classify_http
from ftx.redact import redact_text

T = TypeVar("T")

# google.rpc.Code numbers, as a failed job's ``error.code`` reports them.
RPC_CODES = {1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
             6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED", 9: "FAILED_PRECONDITION",
             10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED", 13: "INTERNAL", 14: "UNAVAILABLE",
             15: "DATA_LOSS", 16: "UNAUTHENTICATED"}
_AUTH_HINT = ("refresh the token in FTX_VERTEX_ACCESS_TOKEN (gcloud auth print-access-token) or the "
              "Application Default Credentials (gcloud auth application-default login)")
_PERMISSION_HINT = ("the credentials need the Vertex AI User role on the project and read/write access "
                    "to the staging bucket")


def _transport_errors() -> tuple[type, ...]:
    """Connection-level failures of every HTTP stack the Google clients may use."""
    found: list[type] = []
    for module, name in (("httpx", "TransportError"), ("httpx2", "TransportError"),
                         ("requests.exceptions", "ConnectionError"), ("requests.exceptions", "Timeout"),
                         ("requests.exceptions", "ChunkedEncodingError"), ("google.auth.exceptions", "TransportError"),
                         ("urllib3.exceptions", "HTTPError")):
        try:
            found.append(getattr(__import__(module, fromlist=[name]), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found) + (ConnectionError, TimeoutError)


def from_status(label: str, status: int, name: str | None, message: str, headers: Any = None) -> Exception:
    """An HTTP failure (status code, Google status name, message) as a ftx error."""
    return classify_http(label, status, message, name, headers, transient_codes=frozenset({"ABORTED"}),
                         auth_hint=_AUTH_HINT, permission_hint=_PERMISSION_HINT)


def translate(exc: Exception, label: str) -> Exception:
    """A google-genai, google-cloud-storage, google-auth or transport exception in ftx's terms;
    anything else is returned unchanged (a bug should show its traceback)."""
    from google.auth import exceptions as auth_errors

    try:
        from google.genai import errors as genai_errors
    except ImportError:  # pragma: no cover - google-genai is a dependency of the vertex extra
        genai_errors = None
    if genai_errors is not None and isinstance(exc, genai_errors.APIError):
        return from_status(label, int(exc.code or 0), exc.status, exc.message or str(exc),
                           getattr(getattr(exc, "response", None), "headers", None))
    try:
        from google.api_core import exceptions as core_errors
    except ImportError:  # pragma: no cover
        core_errors = None
    if core_errors is not None and isinstance(exc, core_errors.GoogleAPICallError):
        status = int(exc.code or 0) if exc.code is not None else 0
        response = getattr(exc, "response", None)
        return from_status(label, status, getattr(exc, "reason", None) or None, exc.message or str(exc),
                           getattr(response, "headers", None))
    if isinstance(exc, auth_errors.RefreshError):
        if "refresh_token" in str(exc):
            # A static token (FTX_VERTEX_ACCESS_TOKEN) the server refused: google-auth then tries
            # to refresh it and complains about missing refresh fields, which says nothing useful.
            return ProviderError(label, "the access token was rejected (expired or revoked); a static token "
                                        "cannot be refreshed", "UNAUTHENTICATED", hint=_AUTH_HINT)
        return ProviderError(label, f"cannot refresh the credentials: {redact_text(str(exc))}", "UNAUTHENTICATED",
                             hint=_AUTH_HINT)
    if isinstance(exc, _transport_errors()):
        return TransientError(redact_text(f"cannot reach {label}: {type(exc).__name__}: {exc}"))
    return exc


def call(label: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one client call, translating its errors (unknown exceptions pass through)."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        translated = translate(exc, label)
        if translated is exc:
            raise
        raise translated from None
