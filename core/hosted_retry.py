"""Retries for calls to hosted providers: exponential backoff with jitter, honouring retry-after.

Providers disable their SDKs' own retries and raise :class:`ftx.hosted.TransientError` for what
is worth another try, so the behaviour is ftx's, the same for every provider, and testable.
Settings come from the environment: ``FTX_RETRY_ATTEMPTS`` (default 6), ``FTX_RETRY_WAIT``
(first wait, seconds, default 1), ``FTX_RETRY_MAX_WAIT`` (longest single wait, default 60).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from .errors import BackendError
from .hosted import TransientError

T = TypeVar("T")


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return default


@dataclass
class RetryPolicy:
    attempts: int = 6
    initial_wait: float = 1.0
    max_wait: float = 60.0
    jitter: float = 1.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    # Every wait taken (seconds), newest last: lets tests check retry-after was honoured.
    waits: list[float] = field(default_factory=list)

    @classmethod
    def from_env(cls) -> "RetryPolicy":
        initial = _env_float("FTX_RETRY_WAIT", 1.0)
        return cls(attempts=max(1, int(_env_float("FTX_RETRY_ATTEMPTS", 6))), initial_wait=initial,
                   max_wait=_env_float("FTX_RETRY_MAX_WAIT", 60.0), jitter=min(1.0, initial))

    def wait_for(self, retry_state: Any) -> float:
        """tenacity wait: the provider's retry-after when it gave one, else exponential + jitter."""
        from tenacity import wait_exponential_jitter

        exc = retry_state.outcome.exception() if retry_state.outcome else None
        advised = getattr(exc, "retry_after", None)
        if advised is not None:
            return min(max(0.0, float(advised)), self.max_wait)
        return wait_exponential_jitter(initial=self.initial_wait, max=self.max_wait, jitter=self.jitter)(retry_state)

    def _sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sleep(seconds)


_default: RetryPolicy | None = None


def default_policy() -> RetryPolicy:
    """The policy set with :func:`set_default_policy`, else one read from the environment now."""
    return _default if _default is not None else RetryPolicy.from_env()


def set_default_policy(policy: RetryPolicy | None) -> None:
    global _default
    _default = policy


def retrying(what: str, fn: Callable[..., T], *args: Any, policy: RetryPolicy | None = None,
             before_retry: Callable[[], T | None] | None = None, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)``, retrying on :class:`TransientError`.

    ``before_retry`` runs before every repeat; a non-``None`` answer is returned instead of
    calling ``fn`` again. That is how a create whose response was lost (timeout, reset) checks
    whether the job exists after all before creating it a second time. Gives up with a one-line
    :class:`BackendError` naming ``what`` and the last error.
    """
    from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt

    pol = policy or default_policy()
    retryer = Retrying(stop=stop_after_attempt(pol.attempts), wait=pol.wait_for,
                       retry=retry_if_exception_type(TransientError), sleep=pol._sleep, reraise=False)
    try:
        for attempt in retryer:
            with attempt:
                if attempt.retry_state.attempt_number > 1 and before_retry is not None:
                    found = before_retry()
                    if found is not None:
                        return found
                return fn(*args, **kwargs)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        status = f" (HTTP {last.status})" if isinstance(last, TransientError) and last.status else ""
        raise BackendError(f"{what} failed after {pol.attempts} attempts: {last}{status}",
                           hint="the provider may be down or rate-limiting; re-run the same command "
                                "later: it picks up where it stopped and never creates a second job") from exc
    raise AssertionError("unreachable")  # pragma: no cover
