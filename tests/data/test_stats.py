"""Dataset statistics on small hand-made datasets, with exact expected numbers."""

from __future__ import annotations

import io
import json

from ftx.example import Example, Message, Source
from ftx.data.stats import Distribution, compute_stats, field_value, stratum_name
from ftx.data.tokens import get_counter


def M(role: str, content: str) -> Message:
    return Message(role, content)


def dataset() -> list[Example]:
    src = lambda n: Source("d.jsonl", n)  # noqa: E731
    return [
        # length 3+5+7 = 15, completion 7, 3 turns
        Example([M("system", "sys"), M("user", "hello"), M("assistant", "world!!")], source=src(1),
                meta={"label": "a", "meta": {"task": "qa"}}),
        # 3+2+1+4 = 10, completion 2+4 = 6, 4 turns
        Example([M("user", "abc"), M("assistant", "de"), M("user", "f"), M("assistant", "ghij")], source=src(2),
                meta={"label": "b"}),
        # completion kind: 6+10 = 16, completion 10, 2 turns
        Example([M("user", "prompt"), M("assistant", "completion")], kind="completion", source=src(3),
                meta={"label": "a", "meta": {"task": "sum"}}),
        # preference: prompt 2 + longer reply 6 = 8, completion (chosen) 3, total 2+3+6 = 11, 2 turns
        Example([M("user", "q?")], kind="preference", chosen=[M("assistant", "yes")],
                rejected=[M("assistant", "no way")], source=src(4), meta={"label": 1}),
        # exact copy of line 2 (meta differs)
        Example([M("user", "abc"), M("assistant", "de"), M("user", "f"), M("assistant", "ghij")], source=src(5),
                meta={"label": "a"}),
    ]


def test_exact_numbers_in_characters():
    s = compute_stats(dataset(), max_length=3)  # tokens, estimated as ceil(characters / 4)
    assert (s.examples, s.tokenizer, s.unit) == (5, "chars", "characters")
    assert s.by_kind == {"chat": 3, "completion": 1, "preference": 1}
    assert s.messages_by_role == {"assistant": 8, "user": 7, "system": 1}
    assert s.turns == Distribution(5, 2, 3.0, 3, 4, 4, 4)
    assert s.lengths == Distribution(5, 8, 11.8, 10, 16, 16, 16)
    assert s.completion_lengths == Distribution(5, 3, 6.4, 6, 10, 10, 10)
    assert s.total_tokens == 15 + 10 + 16 + 11 + 10
    assert s.over_max_length == 2 and s.over_max_length_lines == ["d.jsonl:1", "d.jsonl:3"]  # 15 and 16 chars
    assert s.max_length_estimated
    assert s.duplicates.exact_duplicates == 1 and s.duplicates.near_duplicates == 0
    assert s.duplicates.exact_groups[0].lines == ["d.jsonl:2", "d.jsonl:5"]
    assert s.strata is None


def test_token_lengths_with_an_openai_encoding():
    examples = [Example([M("user", "hello world"), M("assistant", "hello world")]),
                Example([M("user", "hello"), M("assistant", "hello world hello world")])]
    s = compute_stats(examples, counter=get_counter("o200k_base"), max_length=4)
    assert (s.tokenizer, s.unit) == ("o200k_base", "tokens")
    # o200k_base: "hello world" = ["hello", " world"], 2 tokens
    assert s.lengths.min == 4 and s.lengths.max == 5 and s.total_tokens == 9
    assert s.completion_lengths.max == 4
    assert s.over_max_length == 1 and s.over_max_length_lines == ["example 2"]
    assert not s.max_length_estimated


def test_strata_by_field_and_dotted_path():
    s = compute_stats(dataset(), stratify_by="label")
    assert s.strata == {"a": 3, "1": 1, "b": 1}
    s = compute_stats(dataset(), stratify_by="meta.task")
    assert s.strata == {"(missing)": 3, "qa": 1, "sum": 1}


def test_field_value_and_stratum_names():
    record = {"label": None, "meta": {"task": {"k": [1, 2]}}, "n": 3}
    assert field_value(record, "meta.task") == (True, {"k": [1, 2]})
    assert field_value(record, "meta.nope") == (False, None)
    assert field_value(record, "n.deeper") == (False, None)
    assert stratum_name(*field_value(record, "meta.task")) == '{"k": [1, 2]}'
    assert stratum_name(*field_value(record, "label")) == "(missing)"
    assert stratum_name(True, "x") == "x" and stratum_name(True, 3) == "3"


def test_percentiles_use_nearest_rank():
    d = Distribution.of(list(range(100, 0, -1)))
    assert (d.count, d.min, d.p50, d.p90, d.p99, d.max, d.mean) == (100, 1, 50, 90, 99, 100, 50.5)
    assert Distribution.of([]) == Distribution()
    assert Distribution.of([7]).p99 == 7


def test_empty_input():
    s = compute_stats([])
    assert s.examples == 0 and s.lengths.count == 0 and s.duplicates.share == 0


def test_streams_a_generator_once():
    consumed = []

    def gen():
        for e in dataset():
            consumed.append(e)
            yield e

    s = compute_stats(gen())
    assert s.examples == 5 and len(consumed) == 5


def test_to_dict_is_json_and_render_is_compact():
    s = compute_stats(dataset(), max_length=3, stratify_by="label")
    data = json.loads(json.dumps(s.to_dict()))
    assert data["total_tokens"] == 62 and data["unit"] == "characters"
    assert data["lengths"] == {"count": 5, "min": 8, "mean": 11.8, "p50": 10, "p90": 16, "p99": 16, "max": 16}
    assert data["duplicates"]["exact_duplicates"] == 1
    assert data["duplicates"]["exact_groups"] == [{"kind": "exact", "lines": ["d.jsonl:2", "d.jsonl:5"]}]
    assert data["strata"] == {"a": 3, "1": 1, "b": 1}

    from rich.console import Console

    out = io.StringIO()
    Console(file=out, width=120).print(s.render("train"))
    text = out.getvalue()
    assert "train: 5 examples" in text
    assert "min 8  mean 11.8  p50 10  p90 16  p99 16  max 16  [characters]" in text
    assert "1 exact, 0 near (20.0%)" in text
    assert "> 3         2 examples (tokens estimated at 4 characters each)" in text
    assert len(text.splitlines()) <= 12
