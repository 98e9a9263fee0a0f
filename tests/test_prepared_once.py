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
