"""Fixtures for the OpenAI provider: a fake OpenAI server on loopback driven by the real SDK,
fast polling and retries, and small recipes with their data."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.openai_server import FakeOpenAI
from hosted_test_helpers import write_data
from openai_test_helpers import API_KEY


@pytest.fixture
def fake_openai(monkeypatch, retry_waits, fast_hosted_env):
    """A fake OpenAI server; the environment points the SDK (and subprocesses) at it."""
    with FakeOpenAI(lifetime=300) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.url)
        monkeypatch.setenv("OPENAI_API_KEY", API_KEY)
        fast_hosted_env("0.2", today="2026-11-23")
        for var in ("OPENAI_ORG_ID", "OPENAI_PROJECT_ID", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT",
                    "OPENAI_API_VERSION"):
            monkeypatch.delenv(var, raising=False)
        yield server


@pytest.fixture
def make_recipe(tmp_path):
    """make_recipe(train=..., validation=..., extra_yaml=...) -> path of a recipe in tmp_path."""

    def make(train: str | None = None, validation: str | None = None, extra: str = "", name: str = "demo",
             model: str = "gpt-4.1-mini-2025-04-14", objective: str = "sft") -> Path:
        data = write_data(tmp_path, train, validation)
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"name: {name}\nmodel:\n  openai: {model}\n  azure-openai: {model}\n{data}"
                        f"objective: {objective}\nhyperparameters:\n  epochs: 2\n{extra}", encoding="utf-8")
        return path

    return make
