"""Fixtures for the Fireworks AI provider: the fake Fireworks server on loopback, reached with httpx."""

from __future__ import annotations

import pytest

from fakes.fireworks_server import FakeFireworks

API_KEY = "fw_ftxtest0123456789abcdefXYZ"


@pytest.fixture
def fake_fireworks(monkeypatch, fast_hosted_env):
    with FakeFireworks(steps=3) as server:
        monkeypatch.setenv("FIREWORKS_BASE_URL", server.url)
        monkeypatch.setenv("FIREWORKS_API_KEY", API_KEY)
        monkeypatch.setenv("FIREWORKS_ACCOUNT_ID", server.account)
        fast_hosted_env("0.05", today="2026-12-03")
        yield server
