"""Contradictory examples (core/data/contradictions.py): the same prompt trained toward different
answers is reported per set, named by its examples, warned about by `ftx data stats` and the dry
run, and found the same by the duplicate index in this process, in a forked child, and for
examples read as plain chat or built by hand."""

from __future__ import annotations

import json
import random
import sys

import pytest

from ftx.data.contradictions import PromptAnswers, keys_of
from ftx.data.dedupe import DedupeIndex
from ftx.data.stats import compute_stats
from ftx.example import Example, Message, PlainMessages, Source
from ftx.plugins.formats.chat import ChatFormat

from test_dedupe import ex, words


def chat(*turns: tuple[str, str], plain: bool = True, line: int = 1, **kw) -> Example:
    messages = [Message(role, text) for role, text in turns]
    return Example(PlainMessages(messages) if plain else messages, source=Source("t.jsonl", line), **kw)


def test_prompt_is_everything_before_the_last_answer_and_the_answer_is_that_turn():
    a = keys_of(chat(("system", "s"), ("user", "q"), ("assistant", "A")))
    b = keys_of(chat(("system", "s"), ("user", "q"), ("assistant", "B")))
    assert a[0] == b[0] and a[1] != b[1]  # same prompt, other answer
    assert keys_of(chat(("user", "q"), ("assistant", "A")))[0] != a[0]  # the system turn is prompt too
    multi = keys_of(chat(("user", "q"), ("assistant", "A"), ("user", "more"), ("assistant", "C")))
    other = keys_of(chat(("user", "q"), ("assistant", "Z"), ("user", "more"), ("assistant", "C")))
    assert multi[0] != other[0]  # earlier answers are part of the prompt
    trailing = keys_of(chat(("system", "s"), ("user", "q"), ("assistant", "A"), ("user", "thanks")))
    assert trailing == a  # the last assistant turn answers, whatever follows it
    # plain (marked at parse) and hand-built messages take different paths to the same verdicts
    hand_a, hand_b = (keys_of(chat(("system", "s"), ("user", "q"), ("assistant", t), plain=False)) for t in "AB")
    assert hand_a[0] == hand_b[0] and hand_a[1] != hand_b[1]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    with_tools = keys_of(chat(("user", "q"), ("assistant", "A"), tools=tools))
    assert with_tools[0] != keys_of(chat(("user", "q"), ("assistant", "A")))[0]  # tools are part of the prompt
    assert keys_of(chat(("user", "q"), ("assistant", "A"), kind="preference")) is None
    assert keys_of(chat(("user", "q"), ("assistant", "A"), kind="unpaired")) is None  # KTO: good and bad answers
    assert keys_of(chat(("user", "q"))) is None and keys_of(chat(("assistant", "A"))) is None
    parsed = ChatFormat().parse({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"},
                                              {"role": "assistant", "content": "A"}]})
    assert type(parsed.messages) is PlainMessages and keys_of(parsed) == a


def test_conflicts_name_the_first_example_of_each_answer_and_leave_exact_copies_alone():
    answers = PromptAnswers()
    data = [chat(("user", "q1"), ("assistant", "A")), chat(("user", "q2"), ("assistant", "X")),
            chat(("user", "q1"), ("assistant", "A")),  # an exact copy: not a contradiction
            chat(("user", "q1"), ("assistant", "B")), chat(("user", "q3"), ("assistant", "Y")),
            chat(("user", "q1"), ("assistant", "C")), chat(("user", "q1"), ("assistant", "D")),
            chat(("user", "q3"), ("assistant", "Y")), chat(("user", "q2"), ("assistant", "W"))]
    answers.extend(data)
    assert answers.conflicts() == [[0, 3, 5], [1, 8]]  # at most 3 named; in order of first example
    assert answers.conflicts([0, 2, 4, 7]) == []  # only copies among these
    assert answers.conflicts([1, 2, 3, 8]) == [[1, 8], [2, 3]]
    assert answers.report(lambda i: f"t.jsonl:{i + 1}") == (2, [["t.jsonl:1", "t.jsonl:4", "t.jsonl:6"],
                                                                ["t.jsonl:2", "t.jsonl:9"]])


def _planted(n: int = 700) -> tuple[list[Example], list[Example]]:
    rng = random.Random(4)
    train = [ex(i + 1, words(10, rng), words(30, rng)) for i in range(n)]
    for i in range(0, 40, 4):  # 10 prompts asked again with another answer
        train.append(ex(len(train) + 1, train[i].messages[1].content, words(30, rng)))
    validation = [ex(i + 1, words(10, rng), words(30, rng), file="val.jsonl") for i in range(60)]
    validation.append(ex(61, validation[5].messages[1].content, words(30, rng), file="val.jsonl"))
    validation.append(ex(62, train[1].messages[1].content, words(30, rng), file="val.jsonl"))  # across sets: not within one
    return train, validation


def test_the_index_reports_contradictions_per_set():
    train, validation = _planted()  # 700+ examples: the numpy chunk path where numpy is installed
    index = DedupeIndex()
    got = compute_stats(train, index=index).duplicates
    assert got.contradictions == 10
    assert got.contradiction_groups[0].lines == ["train.jsonl:1", "train.jsonl:701"]
    val = compute_stats(validation, index=index, side=1).duplicates
    assert val.contradictions == 1 and val.contradiction_groups[0].lines == ["val.jsonl:6", "val.jsonl:61"]
    assert got.to_dict()["contradictions"] == 10 and got.to_dict()["contradiction_groups"][0]["kind"] == "contradiction"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux only")
def test_a_forked_index_finds_the_same_contradictions():
    from ftx.data.dedupe_fork import ForkedIndex

    train, validation = _planted()
    here = DedupeIndex()
    expected = [compute_stats(train, index=here).duplicates, compute_stats(validation, index=here, side=1).duplicates]
    forked = ForkedIndex([train, validation])
    assert forked._pid is not None
    got = [compute_stats(train, index=forked).duplicates, compute_stats(validation, index=forked, side=1).duplicates]
    forked.close()
    assert got == expected and got[0].contradictions == 10


def test_data_stats_and_the_dry_run_warn_with_the_lines(cli, tmp_path):
    rows = [{"messages": [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": f"answer {i}"}]}
            for i in range(30)]
    rows.append({"messages": [{"role": "user", "content": "question 3"}, {"role": "assistant", "content": "not 3"}]})
    data = tmp_path / "c.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = cli("data", "stats", data)
    assert r.exit_code == 0, r.output
    assert "contradictions" in r.stdout and "1 prompt with different answers" in r.stdout
    assert "1 prompt of the training set has different answers in different examples (e.g. lines 4, 31 of" in r.stderr
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: c\nmodel: {{openai: gpt-4.1-mini-2025-04-14}}\ndata: {{train: {data}}}\n")
    dry = cli("run", recipe, "--backend", "openai", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "different answers in different examples" in dry.output
