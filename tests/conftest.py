"""Shared fixtures: an isolated ftx home per test, fresh plugins, and a CLI runner."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))  # tests/fakes and helpers import as top-level


@pytest.fixture(autouse=True)
def ftx_home(tmp_path_factory, monkeypatch):
    """Every test gets its own ftx home (registry, caches); nothing touches ~/.ftx."""
    home = tmp_path_factory.mktemp("ftx-home")
    monkeypatch.setenv("FTX_HOME", str(home))
    for var in ("FTX_PLUGINS", "FTX_DISABLE_PLUGINS", "FTX_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    from ftx.pluginmanager import reset_plugins

    reset_plugins()
    yield home
    reset_plugins()


class Result:
    def __init__(self, r):
        self.exit_code = r.exit_code
        self.stdout = r.stdout
        self.stderr = r.stderr
        self.output = r.output
        self.exception = r.exception

    def __repr__(self) -> str:
        return f"<exit {self.exit_code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}>"


@pytest.fixture
def cli():
    """Run ``ftx`` in-process: ``cli("data", "validate", path)`` -> Result (exit_code, stdout, stderr)."""
    from ftx.cli import _add_commands, cli as group

    _add_commands()
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict | None = None) -> Result:
        return Result(runner.invoke(group, [str(a) for a in args], input=input, env=env, catch_exceptions=True))

    return run


@pytest.fixture
def write(tmp_path):
    """write("name.jsonl", text) -> Path of a file under tmp_path."""

    def _write(name: str, text: str | bytes) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")
        return p

    return _write


def venv_python() -> str:
    return sys.executable


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on a free loopback port for the whole session (see
    tests/postgres_server.py); skipped, with the reason, only where none can be started."""
    pytest.importorskip("psycopg", reason="psycopg (extra 'postgres') is not installed")
    from postgres_server import PostgresServer, Unavailable

    try:
        server = PostgresServer().start()
    except Unavailable as exc:
        pytest.skip(f"no PostgreSQL server: {exc}")
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres_server, request):
    """A fresh, empty database on the session's server; dropped after the test."""
    import re as _re

    name = "ftx_" + _re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40] + f"_{os.getpid()}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)
