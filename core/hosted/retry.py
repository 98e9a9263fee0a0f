"""Retries for calls to hosted providers: exponential backoff with jitter, honouring retry-after,
each request with its own attempt budget, all of them within one overall deadline.

Providers disable their SDKs' own retries, so the behaviour is ftx's, the same for every provider,
and testable (tenacity does the looping). Two layers use it:

* :meth:`ftx.hosted.HostedProvider.request` retries one HTTP request (a lookup, an upload, a
  read-back) with a fresh budget of ``attempts``: a fault in one request does not use up the
  tries of the next. A request that is not safe to repeat (creating a job) is sent once;
* :func:`retrying` retries one logical provider call (``upload``, ``find_job``...) when it raises
  :class:`TransientError` itself, and lets a lost create look for its job before trying again.

Every wait stops at the deadline of the command (``FTX_RETRY_DEADLINE`` seconds from the first
retried call, default 1800): past it ftx gives up with one line instead of retrying for ever.
Settings come from the environment: ``FTX_RETRY_ATTEMPTS`` (default 6), ``FTX_RETRY_WAIT`` (first
wait, seconds, default 1), ``FTX_RETRY_MAX_WAIT`` (longest single wait, default 60).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from ..errors import BackendError
from .errors import TransientError

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
    deadline_s: float = 1800.0  # the whole command's retrying stops this long after it began
    sleep: Callable[[float], None] = field(default=time.sleep)
    clock: Callable[[], float] = field(default=time.monotonic)
    # Every wait taken (seconds), newest last: lets tests check retry-after was honoured.
    waits: list[float] = field(default_factory=list)
    started: float | None = None  # when the deadline began (the first retried call)

    @classmethod
    def from_env(cls) -> "RetryPolicy":
        initial = _env_float("FTX_RETRY_WAIT", 1.0)
        return cls(attempts=max(1, int(_env_float("FTX_RETRY_ATTEMPTS", 6))), initial_wait=initial,
                   max_wait=_env_float("FTX_RETRY_MAX_WAIT", 60.0), jitter=min(1.0, initial),
                   deadline_s=_env_float("FTX_RETRY_DEADLINE", 1800.0))

    def start(self) -> None:
        """Begin the deadline now, unless it already began."""
        if self.started is None:
            self.started = self.clock()

    def remaining(self) -> float:
        self.start()
        return self.deadline_s - (self.clock() - self.started)  # type: ignore[operator]

    def wait_for(self, retry_state: Any) -> float:
        """tenacity wait: the provider's retry-after when it gave one, else exponential + jitter."""
        from tenacity import wait_exponential_jitter

        exc = retry_state.outcome.exception() if retry_state.outcome else None
        advised = getattr(exc, "retry_after", None)
        if advised is not None:
            return min(max(0.0, float(advised)), self.max_wait)
        return wait_exponential_jitter(initial=self.initial_wait, max=self.max_wait, jitter=self.jitter)(retry_state)

    def past_deadline(self, retry_state: Any) -> bool:
        """tenacity stop: the next wait would end past the deadline."""
        return self.wait_for(retry_state) >= self.remaining()

    def _sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sleep(seconds)


_default: RetryPolicy | None = None
_command: RetryPolicy | None = None  # the policy of the command under way (its deadline)


def default_policy() -> RetryPolicy:
    """The policy set with :func:`set_default_policy`, else the running command's, else one read
    from the environment now."""
    if _default is not None:
        return _default
    return _command if _command is not None else RetryPolicy.from_env()


def set_default_policy(policy: RetryPolicy | None) -> None:
    global _default
    _default = policy


class command_deadline:
    """``with command_deadline():`` every retry inside shares one deadline (a launch, a wait)."""

    def __enter__(self) -> RetryPolicy:
        global _command
        self._outer = _command
        policy = default_policy()
        if _command is None and _default is None:
            _command = policy
        policy.start()
        return policy

    def __exit__(self, *exc: object) -> None:
        global _command
        _command = self._outer
        if _default is not None and self._outer is None:
            _default.started = None


def retrying(what: str, fn: Callable[..., T], *args: Any, policy: RetryPolicy | None = None,
             before_retry: Callable[[], T | None] | None = None, **kwargs: Any) -> T:
    """Call ``fn(*args, **kwargs)``, retrying on :class:`TransientError`.

    ``before_retry`` runs before every repeat; a non-``None`` answer is returned instead of
    calling ``fn`` again. That is how a create whose response was lost (timeout, reset) checks
    whether the job exists after all before creating it a second time. Gives up with a one-line
    :class:`BackendError` naming ``what`` and the last error.
    """
    from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, stop_any

    pol = policy or default_policy()
    pol.start()
    retryer = Retrying(stop=stop_any(stop_after_attempt(pol.attempts), pol.past_deadline), wait=pol.wait_for,
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
        tries = exc.last_attempt.attempt_number
        status = f" (HTTP {last.status})" if isinstance(last, TransientError) and last.status else ""
        why = "" if tries >= pol.attempts else f", stopping at the {pol.deadline_s:g}s deadline"
        raise BackendError(f"{what} failed after {tries} attempt{'s' if tries > 1 else ''}{why}: {last}{status}",
                           hint="the provider may be down or rate-limiting; re-run the same command "
                                "later: it picks up where it stopped and never creates a second job") from exc
    raise AssertionError("unreachable")  # pragma: no cover
