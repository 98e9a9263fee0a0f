"""Several sources per recipe: weights, counts, replay, dedupe, streaming, curriculum, errors."""

from __future__ import annotations

import json
import textwrap
from collections import Counter

import pytest

from ftx.data import mix as mixmod
from ftx.data.plan import load_splits
from ftx.errors import FtxError
from ftx.recipe import load_recipe


def chat(tag: str, i: int) -> dict:
    return {"messages": [{"role": "user", "content": f"{tag} question {i}"},
                         {"role": "assistant", "content": f"{tag} answer {i}"}]}


def alpaca(tag: str, i: int) -> dict:
    return {"instruction": f"{tag} instruction {i}", "input": "", "output": f"{tag} output {i}"}


def jsonl(rows) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


@pytest.fixture
def sources(tmp_path):
    (tmp_path / "a.jsonl").write_text(jsonl(chat("a", i) for i in range(300)))
    (tmp_path / "b.jsonl").write_text(jsonl(alpaca("b", i) for i in range(200)))
    (tmp_path / "c.jsonl").write_text(jsonl(chat("c", i) for i in range(100)))
    return tmp_path


def recipe_of(tmp_path, data: str, name: str = "r.yaml"):
    text = "name: mixed\nmodel: {local: ftx/tiny-llama}\ndata:\n" + textwrap.indent(textwrap.dedent(data), "  ")
    (tmp_path / name).write_text(text)
    return load_recipe(str(tmp_path / name), backend="local")


THREE = """\
train:
  - {path: a.jsonl, weight: 0.6}
  - {path: b.jsonl, format: alpaca, weight: 0.3}
  - {path: c.jsonl, weight: 0.1, system: Be brief., prefix: "[c] "}
"""


def test_weights_give_exact_counts_and_mixed_formats(sources):
    train, validation, info = load_splits(recipe_of(sources, THREE + "mix: {examples: 250}\nsplit: 0.2\n"))
    rows = {r["task"]: r for r in info["mix"]["sources"]}
    assert [rows[t]["planned"] for t in "abc"] == [150, 75, 25]  # 250 x 0.6/0.3/0.1 exactly
    assert Counter(e.task for e in train) == {"a": 150, "b": 75, "c": 25}
    assert {rows[t]["actual"] for t in "abc"} == {150, 75, 25}
    b = next(e for e in train if e.task == "b")  # alpaca became a canonical chat example
    assert [m.role for m in b.messages] == ["user", "assistant"] and b.messages[0].content.startswith("b instruction")
    c = next(e for e in train if e.task == "c")
    assert c.messages[0].role == "system" and c.messages[0].content == "Be brief."
    assert c.messages[1].content.startswith("[c] c question")
    # validation is held out of each source, never a copy of a training example
    assert {e.task for e in validation} == {"a", "b", "c"}
    assert not {e.text() for e in validation} & {e.text() for e in train}


def test_default_total_is_the_most_the_weights_allow_without_repeats(sources):
    _, _, info = load_splits(recipe_of(sources, THREE + "split: 0.2\n"))
    rows = info["mix"]["sources"]
    total = info["mix"]["train_examples"]
    for r, w in zip(rows, (0.6, 0.3, 0.1)):
        assert abs(r["planned"] - total * w) < 1  # largest remainder: within one of its share
        assert r["planned"] <= r["available"] and r["repeats"] is None
    assert min(r["available"] / w for r, w in zip(rows, (0.6, 0.3, 0.1))) == pytest.approx(total, abs=1)


def test_weights_are_honoured_in_expectation_by_the_sampled_examples(sources):
    """Which examples are sampled varies with the seed, their numbers never do; across seeds each
    example of a sampled source is taken with the same probability (chi-square on 20 seeds)."""
    picks = Counter()
    for seed in range(20):
        train, _, info = load_splits(recipe_of(sources, THREE + f"mix: {{examples: 100}}\nseed: {seed}\nvalidation: c.jsonl\n"))
        assert Counter(e.task for e in train) == {"a": 60, "b": 30, "c": 10}
        picks.update(e.messages[-1].content for e in train if e.task == "a")
    expected = 20 * 60 / 300
    chi2 = sum((picks.get(f"a answer {i}", 0) - expected) ** 2 / expected for i in range(300))
    assert chi2 < 400  # 299 degrees of freedom: p(chi2 > 400) < 1e-4 for a uniform sampler


def test_sampling_is_deterministic_and_seeded(sources):
    def texts(seed):
        train, val, _ = load_splits(recipe_of(sources, THREE + f"seed: {seed}\n", name=f"s{seed}.yaml"))
        return [e.text() for e in train], [e.text() for e in val]

    assert texts(1) == texts(1)
    assert texts(1) != texts(2)


def test_replay_takes_its_share_from_the_general_set(sources):
    train, validation, info = load_splits(recipe_of(sources, THREE + "replay: {ratio: 0.1}\n"))
    counts = Counter(e.task for e in train)
    assert counts["replay"] == round(sum(v for k, v in counts.items() if k != "replay") * 0.1 / 0.9)
    assert abs(counts["replay"] / len(train) - 0.1) < 0.005
    replayed = [e for e in train if e.task == "replay"]
    assert all(e.source.file == "ftx:general" for e in replayed)
    assert any(e.task == "replay" for e in validation)  # general loss is measured too


def test_replay_of_a_file_with_a_single_train_string(sources):
    train, _, info = load_splits(recipe_of(sources, "train: a.jsonl\nreplay: {source: c.jsonl, ratio: 0.2}\n"))
    counts = Counter(e.task for e in train)
    assert counts["replay"] == round(counts["a"] * 0.2 / 0.8)


def test_counts_repeat_a_small_source_and_plain_sources_give_everything(sources):
    train, _, info = load_splits(recipe_of(sources, "train:\n  - {path: a.jsonl}\n  - {path: c.jsonl, count: 150}\n"
                                                    "validation: b.jsonl\nformat: auto\n"))
    rows = {r["task"]: r for r in info["mix"]["sources"]}
    assert rows["a"]["actual"] == 300 and rows["c"]["planned"] == 150 and rows["c"]["repeats"] == 1.5
    assert Counter(e.task for e in train)["c"] == 150


def test_exact_copies_across_sources_are_dropped_and_reported(sources):
    (sources / "a2.jsonl").write_text((sources / "a.jsonl").read_text())
    train, _, info = load_splits(recipe_of(sources, "train:\n  - {path: a.jsonl}\n  - {path: a2.jsonl}\nsplit: 0.2\n"))
    rows = {r["task"]: r for r in info["mix"]["sources"]}
    assert rows["a2"]["duplicates_dropped"] == rows["a2"]["planned"] and rows["a2"]["actual"] == 0
    assert len({e.text() for e in train}) == len(train)


def test_a_large_source_is_streamed_not_held(sources, monkeypatch):
    """Above KEEP examples a source is read again and sampled through a bounded heap: the same
    examples come out as when it is held in memory."""
    data = THREE + "mix: {examples: 60}\nsplit: 0.2\n"
    held = load_splits(recipe_of(sources, data, name="held.yaml"))
    monkeypatch.setattr(mixmod, "KEEP", 10)
    sizes = []
    real = mixmod._Bottom.push

    def spy(self, i, ex):
        real(self, i, ex)
        sizes.append((self.k, len(self.heap)))

    monkeypatch.setattr(mixmod._Bottom, "push", spy)
    streamed = load_splits(recipe_of(sources, data, name="streamed.yaml"))
    assert [e.text() for e in streamed[0]] == [e.text() for e in held[0]]
    assert [e.text() for e in streamed[1]] == [e.text() for e in held[1]]
    assert len(sizes) > 500  # every record of the three sources went through a bounded heap
    assert all(n <= k for k, n in sizes) and max(k for k, _ in sizes) <= 36  # the largest planned count (60 x 0.6), not the 300 records


def test_curriculum_by_length_and_by_source(sources):
    train, _, _ = load_splits(recipe_of(sources, THREE + "mix: {curriculum: {by: length}}\n"))
    lengths = [len(e.text()) for e in train]
    assert lengths == sorted(lengths)
    train, _, _ = load_splits(recipe_of(sources, THREE + "replay: {ratio: 0.2}\n"
                                        "mix: {curriculum: {by: source, start_ratio: 0.3}}\n", name="s.yaml"))
    half = len(train) // 2
    task_share = [sum(e.task != "replay" for e in part) / len(part) for part in (train[:half], train[half:])]
    assert task_share[0] < task_share[1]
    again, _, _ = load_splits(recipe_of(sources, THREE + "replay: {ratio: 0.2}\n"
                                        "mix: {curriculum: {by: source, start_ratio: 0.3}}\n", name="s2.yaml"))
    assert [e.text() for e in again] == [e.text() for e in train]


def test_bad_sources_are_reported_at_the_recipe_line(sources):
    (sources / "bad.jsonl").write_text(jsonl([chat("x", 1)]) + "{not json\n")
    recipe = recipe_of(sources, "train:\n  - {path: a.jsonl}\n  - {path: missing.jsonl}\n  - {path: bad.jsonl}\n")
    problems = []
    load_splits(recipe, problems)
    text = [str(p) for p in problems]
    assert any("r.yaml:6" in t and "data.train.1" in t and "missing.jsonl" in t for t in text), text
    assert any("bad.jsonl:2" in t for t in text), text


def test_schema_errors_name_the_field(sources):
    with pytest.raises(FtxError) as err:
        recipe_of(sources, "train:\n  - {path: a.jsonl, weight: 0.5, count: 3}\n")
    assert "data.train.0" in str(err.value) and "weight or count" in str(err.value)
    with pytest.raises(FtxError) as err:
        recipe_of(sources, "train: []\n", name="e.yaml")
    assert "at least one source" in str(err.value)


def test_duplicate_task_names_are_refused(sources):
    recipe = recipe_of(sources, "train:\n  - {path: a.jsonl, task: t}\n  - {path: c.jsonl, task: t}\n")
    with pytest.raises(FtxError, match="task 't' is already"):
        load_splits(recipe)


def test_each_epoch_samples_afresh_with_the_same_counts(sources):
    recipe = recipe_of(sources, THREE + "replay: {ratio: 0.1}\nmix: {examples: 100}\n")
    first, _, info = load_splits(recipe)
    assert mixmod.resampled(info["mix"])
    [second, third] = mixmod.epoch_mixes(recipe, 3)
    assert Counter(e.task for e in second) == Counter(e.task for e in first) == Counter(e.task for e in third)
    replay = [{e.text() for e in ep if e.task == "replay"} for ep in (first, second, third)]
    assert replay[0] != replay[1] != replay[2]
    assert [e.text() for e in mixmod.epoch_mixes(recipe, 2)[0]] == [e.text() for e in second]
    whole, _, info = load_splits(recipe_of(sources, "train:\n  - {path: a.jsonl}\n  - {path: c.jsonl}\n", name="w.yaml"))
    assert not mixmod.resampled(info["mix"])  # every source given whole: nothing to resample


def test_curriculum_by_field_puts_missing_values_last(sources):
    rows = [dict(chat("f", i), level=(3 - i % 3) if i % 4 else None) for i in range(40)]
    for r in rows:
        if r["level"] is None:
            del r["level"]
    (sources / "f.jsonl").write_text(jsonl(rows))
    train, _, _ = load_splits(recipe_of(sources, "train:\n  - {path: f.jsonl}\nsplit: 0.2\n"
                                        "mix: {curriculum: {by: field, field: level}}\n"))
    levels = [e.meta.get("level") for e in train]
    present = [v for v in levels if v is not None]
    assert present == sorted(present) and levels[: len(present)] == present
    assert all(v is None for v in levels[len(present):]) and len(present) < len(levels)
