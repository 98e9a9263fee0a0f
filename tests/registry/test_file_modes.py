"""One permission policy: a private ftx home and registry; outputs as the user's umask gives
(issue 9, section 6)."""

from __future__ import annotations

import json
import os
import stat

import pytest


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_home_and_registry_are_private(tmp_path, monkeypatch, umask_022):
    from ftx.registry import Registry

    home = tmp_path / "fresh-home"
    monkeypatch.setenv("FTX_HOME", str(home))
    with Registry() as registry:
        registry.list_runs()
        path = registry.path
    assert mode(home) == 0o700 and mode(path) == 0o600


def test_an_existing_home_keeps_its_mode(tmp_path, monkeypatch, umask_022):
    from ftx.home import ftx_home

    home = tmp_path / "mine"
    home.mkdir(mode=0o755)
    monkeypatch.setenv("FTX_HOME", str(home))
    assert ftx_home() == home and mode(home) == 0o755


def test_data_split_and_atomic_outputs_follow_the_umask(cli, tmp_path, umask_022):
    from ftx.data.atomic import atomic_write

    with atomic_write(tmp_path / "out.txt") as fh:
        fh.write("x")
    assert mode(tmp_path / "out.txt") == 0o644
    with atomic_write(tmp_path / "secret.txt", private=True) as fh:
        fh.write("x")
    assert mode(tmp_path / "secret.txt") == 0o600
    src = tmp_path / "d.jsonl"
    src.write_text("".join(json.dumps({"prompt": f"p{i}", "completion": "c"}) + "\n" for i in range(20)))
    r = cli("data", "split", src)
    assert r.exit_code == 0, r
    assert mode(tmp_path / "d.train.jsonl") == 0o644 and mode(tmp_path / "d.val.jsonl") == 0o644
