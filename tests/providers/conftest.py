"""Fixtures every hosted provider's tests share: a fast process-wide retry policy, and the
settings that make a run against a loopback fake quick (polling, retry waits, HTTP timeout)."""

from __future__ import annotations

import pytest


@pytest.fixture
def retry_waits(monkeypatch):
    """The process-wide retry policy, made fast; its ``waits`` list records every back-off."""
    from ftx import hosted_retry

    policy = hosted_retry.RetryPolicy(attempts=5, initial_wait=0.01, max_wait=0.2, jitter=0.0)
    monkeypatch.setattr(hosted_retry, "_default", policy)
    return policy.waits


@pytest.fixture
def fast_hosted_env(monkeypatch):
    """``fast_hosted_env(max_wait, today=None)``: poll every 10 ms, first retry after 10 ms and
    none later than ``max_wait`` seconds, HTTP timeout 5 s, and ``FTX_TODAY`` when given (the
    environment reaches the subprocesses a test starts too)."""

    def apply(max_wait: str, today: str | None = None) -> None:
        monkeypatch.setenv("FTX_POLL_INTERVAL", "0.01")
        monkeypatch.setenv("FTX_RETRY_WAIT", "0.01")
        monkeypatch.setenv("FTX_RETRY_MAX_WAIT", max_wait)
        monkeypatch.setenv("FTX_HTTP_TIMEOUT", "5")
        if today is not None:
            monkeypatch.setenv("FTX_TODAY", today)

    return apply
