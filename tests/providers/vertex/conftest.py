"""Fixtures for the Vertex AI provider: Cloud Storage (gcp-storage-emulator) and a fake Vertex
``tuningJobs`` API on loopback, both driven by the real google-cloud-storage and google-genai
clients; fast polling and retries; small recipes with their data."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.gcs import GcsEmulator
from fakes.vertex_server import FakeVertex
from hosted_test_helpers import write_data
from vertex_test_helpers import BUCKET, LOCATION, PROJECT, TOKEN


@pytest.fixture(scope="session")
def gcs_server():
    """One in-memory emulator for the session (it starts in ~0.2 s; tests wipe it)."""
    with GcsEmulator(bucket=BUCKET, project=PROJECT) as server:
        yield server


@pytest.fixture
def gcs(gcs_server, monkeypatch):
    gcs_server.wipe()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server.url)
    return gcs_server


@pytest.fixture
def vertex_env(monkeypatch, tmp_path, fast_hosted_env):
    """Settings for a Vertex run, minus the endpoint; ADC can never reach the network."""
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    monkeypatch.setenv("GOOGLE_CLOUD_LOCATION", LOCATION)
    monkeypatch.setenv("FTX_VERTEX_BUCKET", BUCKET)
    monkeypatch.setenv("FTX_VERTEX_ACCESS_TOKEN", TOKEN)
    fast_hosted_env("0.2")
    # google.auth.default() must fail at once (never probe the GCE metadata server).
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-adc.json"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    for var in ("FTX_VERTEX_ENDPOINT", "FTX_VERTEX_API_VERSION", "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def fake_vertex(monkeypatch, gcs, retry_waits, vertex_env):
    """A fake Vertex AI; the environment points google-genai (and subprocesses) at it."""
    with FakeVertex(token=TOKEN, read_uri=gcs.read, lifetime=300) as server:
        monkeypatch.setenv("FTX_VERTEX_ENDPOINT", server.url)
        yield server


@pytest.fixture
def make_recipe(tmp_path):
    """make_recipe(train=..., validation=..., extra=...) -> path of a recipe in tmp_path."""

    def make(train: str | None = None, validation: str | None = None, extra: str = "", name: str = "demo",
             model: str = "gemini-3-flash-lite", objective: str = "sft", epochs: str = "2") -> Path:
        data = write_data(tmp_path, train, validation)
        path = tmp_path / f"{name}.yaml"
        hyper = f"hyperparameters:\n  epochs: {epochs}\n"
        if extra.startswith("hyperparameters:\n") or "\nhyperparameters:\n" in extra:
            # one hyperparameters block: a second one is a duplicate key, refused by the loader
            hyper = ""
            head, _, rest = extra.partition("hyperparameters:\n")
            block = rest.split("\n")
            has_epochs = any(line.strip().startswith("epochs:") for line in block
                             if line.startswith("  ") or not line)
            extra = head + "hyperparameters:\n" + ("" if has_epochs else f"  epochs: {epochs}\n") + rest
        path.write_text(f"name: {name}\nmodel:\n  vertex: {model}\n{data}objective: {objective}\n"
                        f"{hyper}{extra}", encoding="utf-8")
        return path

    return make
