"""A mixed recipe on OpenAI: the uploaded training file holds, per source, what the dry run showed."""

from __future__ import annotations

import json
from collections import Counter

from ftx.data.general import iter_general
from ftx.data.load import iter_examples
from ftx.recipe import load_recipe


def _task_of_prompt() -> dict[str, str]:
    """Each source's user turns -> its task, read straight from the shipped files."""
    recipe = load_recipe("mix-replay", backend="openai")
    out: dict[str, str] = {}
    for src in recipe.recipe.data.train:
        for ex in iter_examples(recipe.data_path(src.path), src.format):
            out[next(m.content for m in ex.messages if m.role == "user")] = src.task
    for ex in iter_general():
        out.setdefault(ex.messages[0].content, "replay")
    return out


def test_uploaded_file_matches_the_dry_run_per_source(cli, fake_openai):
    dry = cli("run", "mix-replay", "--backend", "openai", "--dry-run", "--json")
    assert dry.exit_code == 0, dry
    planned = {r["task"]: r["actual"] for r in json.loads(dry.stdout)["data"]["mix"]["sources"]}
    assert set(planned) == {"opposites", "colors", "sounds", "replay"}
    text = cli("run", "mix-replay", "--backend", "openai", "--dry-run")
    assert "sounds:" in text.stdout and "replay 10%" in text.stdout
    r = cli("run", "mix-replay", "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    [job] = fake_openai.jobs.values()
    with fake_openai.state.lock:
        uploaded = fake_openai.state.contents[job.request["training_file"]].decode()
    rows = [json.loads(line) for line in uploaded.splitlines()]
    tasks = _task_of_prompt()
    counts = Counter(tasks[next(m["content"] for m in row["messages"] if m["role"] == "user")] for row in rows)
    assert dict(counts) == planned
    assert abs(counts["replay"] / len(rows) - 0.1) < 0.01
    # the alpaca source was converted: every line is OpenAI chat; the system prompt went to its source only
    assert all(row["messages"][-1]["role"] == "assistant" for row in rows)
    systems = Counter(tasks[row["messages"][1]["content"]] for row in rows if row["messages"][0]["role"] == "system")
    assert systems == {"sounds": planned["sounds"]}
    assert len({json.dumps(row, sort_keys=True) for row in rows}) == len(rows)  # deduplicated
