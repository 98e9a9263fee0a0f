"""Fixtures for the Together AI provider: the fake Together server on loopback, driven by the real SDK."""

from __future__ import annotations

import pytest

from fakes.together_server import FakeTogether

API_KEY = "tgp_v1_ftxtest0123456789abcdefXYZ"


@pytest.fixture
def fake_together(monkeypatch, fast_hosted_env):
    with FakeTogether(steps=3) as server:
        monkeypatch.setenv("TOGETHER_BASE_URL", server.url)
        monkeypatch.setenv("TOGETHER_API_KEY", API_KEY)
        fast_hosted_env("0.05", today="2026-12-03")
        yield server
