"""What can go wrong talking to a provider, in ftx's terms, and the HTTP rules that decide which.

Providers turn their SDK's exceptions into one of two classes: :class:`TransientError` (worth
another try: the core retries it) or :class:`ProviderError` (final: the attempt stops with one
line carrying the provider's error code). :func:`classify_http` holds the rules every provider
shares (408/409/429/5xx are transient unless the code says waiting will not help; 401 and 403
are final with a hint), :func:`retry_after` reads the server's advice on how long to wait.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import BackendError
from ..redact import redact_text


class ProviderError(BackendError):
    """A terminal failure reported by a provider (a failed job, no quota, an invalid file),
    printed as one line that carries the provider's own error code."""

    def __init__(self, provider: str, message: str, code: str | None = None, *, hint: str | None = None,
                 status: int | None = None):
        self.provider = provider
        self.code = code
        self.status = status  # the HTTP status when the failure was an HTTP answer
        text = f"{provider}: {message}" + (f" (error code: {code})" if code else "")
        super().__init__(" ".join(text.split()), hint=hint)


class TransientError(Exception):
    """A failure worth retrying (rate limit, 5xx, connection reset, timeout).

    ``retry_after`` is the provider's own advice in seconds, honoured when given."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None,
                 code: str | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.code = code


def retry_after(headers: Any) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms``, else ``retry-after`` (seconds or
    an HTTP date); ``None`` when it gave no (readable) advice."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        import email.utils  # an HTTP date: rare, and email costs ~10 ms to import

        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time()) if when else None


#: HTTP statuses a later identical request may well succeed with.
TRANSIENT_STATUSES = frozenset({408, 429})


def classify_http(label: str, status: int, message: str | None, code: str | None = None, headers: Any = None, *,
                  final_codes: frozenset[str] = frozenset(), transient_codes: frozenset[str] = frozenset(),
                  transient_statuses: frozenset[int] = frozenset(),
                  auth_hint: str = "check the API key in the environment",
                  permission_hint: str | None = None, final_hints: dict[str, str] | None = None) -> Exception:
    """An HTTP failure as :class:`TransientError` or :class:`ProviderError`.

    ``final_codes``: codes that make a transient-looking status final (OpenAI's
    ``insufficient_quota`` 429); ``transient_codes``: codes worth retrying whatever the status
    (Google's ``ABORTED``); ``transient_statuses``: more statuses to retry (OpenAI's 409). The message is redacted: a key echoed by a server never reaches a log."""
    text = redact_text(" ".join((message or f"HTTP {status}").split()))
    if code in final_codes:
        return ProviderError(label, text, code, hint=(final_hints or {}).get(code), status=status)
    if status in TRANSIENT_STATUSES or status in transient_statuses or status >= 500 or code in transient_codes:
        return TransientError(text, status=status, retry_after=retry_after(headers), code=code)
    if status == 401:
        return ProviderError(label, f"authentication failed: {text}", code or "unauthorized", hint=auth_hint,
                             status=status)
    if status == 403:
        return ProviderError(label, f"permission denied: {text}", code or "forbidden", hint=permission_hint,
                             status=status)
    return ProviderError(label, text, code or f"http_{status}", status=status)


def unreachable(label: str, exc: BaseException) -> TransientError:
    """A connection-level failure (refused, reset, timed out) as a transient error."""
    cause = exc.__cause__ or exc.__context__
    return TransientError(redact_text(f"cannot reach {label}: {cause or exc}"))
