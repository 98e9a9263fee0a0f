"""A hosted run prepares its job once: the plan's prepared job is the one the launch sends,
until a data file changes."""

from __future__ import annotations

import json
import os

from ftx.prepared import prepare_once


class Counting:
    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def prepare(self, recipe):
        self.calls += 1
        return {"call": self.calls}


def test_the_prepared_job_is_kept_until_the_data_changes(tmp_path):
    from ftx.recipe import load_recipe

    data = tmp_path / "train.jsonl"
    row = {"messages": [{"role": "user", "content": "hi?"}, {"role": "assistant", "content": "hello"}]}
    data.write_text(json.dumps(row) + "\n" * 1)
    path = tmp_path / "r.yaml"
    path.write_text(f"name: p\nmodel: {{local: ftx/tiny-llama}}\ndata: {{train: {data}}}\n")
    recipe = load_recipe(path, backend="local")
    backend = Counting()
    first = prepare_once(backend, recipe)
    assert prepare_once(backend, recipe) is first and backend.calls == 1
    data.write_text((json.dumps(row) + "\n") * 2)
    os.utime(data, ns=(1, 1))  # a different stamp even within the clock's resolution
    assert prepare_once(backend, recipe) == {"call": 2} and backend.calls == 2


def _openai_recipe(tmp_path, rows: int):
    data = tmp_path / "train.jsonl"
    row = {"messages": [{"role": "user", "content": "hi?"}, {"role": "assistant", "content": "hello"}]}
    data.write_text("".join(json.dumps({"messages": [{**row["messages"][0], "content": f"hi {i}?"},
                                                     row["messages"][1]]}) + "\n" for i in range(rows)))
    path = tmp_path / "r.yaml"
    path.write_text(f"name: p\nmodel: {{openai: gpt-4.1-mini-2025-04-14}}\ndata: {{train: {data}}}\n")
    return str(path)


def test_the_data_plan_prepares_the_hosted_job_ahead_and_the_plan_takes_it(tmp_path, monkeypatch):
    """plan_run prepares a hosted job inside the data plan (while a forked child may still build
    the duplicate index); the backend's plan takes that job; a problem it finds is raised by
    the plan, in its usual place; with an error in the recipe's checks, nothing is prepared."""
    import pytest

    from ftx.errors import DataError
    from ftx.hosted.contract import HostedBackend
    from ftx.planning import plan_run

    monkeypatch.setenv("FTX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FTX_TODAY", "2026-12-03")
    calls: list[str] = []
    real = HostedBackend.prepare

    def counted(self, recipe):
        calls.append(self.name)
        return real(self, recipe)

    monkeypatch.setattr(HostedBackend, "prepare", counted)
    plan = plan_run(_openai_recipe(tmp_path, 20), "openai")
    assert calls == ["openai"] and plan.details["client key"].startswith("ftx-")

    calls.clear()
    with pytest.raises(DataError, match="at least 10 training examples"):
        plan_run(_openai_recipe(tmp_path, 4), "openai")  # ahead: found and kept quiet; the plan raises it
    assert calls == ["openai", "openai"]

    calls.clear()
    from ftx.backends import Finding
    from ftx.components import get_backend
    from ftx.errors import BackendError

    monkeypatch.setattr(type(get_backend("openai")), "check", lambda self, recipe: [Finding("error", "not here")])
    with pytest.raises(BackendError, match="not here"):
        plan_run(_openai_recipe(tmp_path, 20), "openai")
    assert calls == []


def test_a_launchs_plan_imports_the_sdk_ahead_and_a_dry_run_does_not(tmp_path, monkeypatch):
    import sys

    from ftx.components import get_backend
    from ftx.planning import RunOptions, plan_run

    monkeypatch.setenv("FTX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FTX_TODAY", "2026-12-03")
    (tmp_path / "ftx_fake_sdk.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(type(get_backend("openai")), "sdk_modules", ("ftx_missing_sdk", "ftx_fake_sdk"))
    monkeypatch.delitem(sys.modules, "ftx_fake_sdk", raising=False)
    recipe = _openai_recipe(tmp_path, 20)
    plan_run(recipe, "openai", options=RunOptions())  # a dry run's plan
    assert "ftx_fake_sdk" not in sys.modules
    plan_run(recipe, "openai", options=RunOptions(launching=True))
    assert sys.modules["ftx_fake_sdk"].LOADED  # the missing one before it: quiet
    assert "ftx_missing_sdk" not in sys.modules
