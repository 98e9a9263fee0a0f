"""Exact and near duplicates, leakage between train and validation, determinism."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

from ftx.example import Example, Message, Source
from ftx.data.dedupe import (DedupeIndex, find_duplicates, jaccard, near_words, normalized_text, overlap,
                             shingle_hashes)

SYSTEM = "You are a meticulous assistant for the ACME support desk. Answer briefly and politely."
RNG = random.Random(7)
VOCAB = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
         "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
         "uniform", "victor", "whiskey", "xray", "yankee", "zulu", "red", "green", "blue", "amber"]


def words(n: int, rng: random.Random = RNG) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(n))


def ex(line: int, question: str, answer: str, file: str = "train.jsonl", **meta) -> Example:
    return Example([Message("system", SYSTEM), Message("user", question), Message("assistant", answer)],
                   meta=meta, source=Source(file, line))


def edit_one_word(text: str, at: int = 20) -> str:
    w = text.split()
    w[at] = "CHANGED"
    return " ".join(w)


ANSWER = words(40)
OTHER = words(40)


def test_normalized_text_strips_case_punctuation_and_spacing_and_system_prompt():
    e = ex(1, "  What's   UP,\tdoc?! ", "Nothing_much... 42 times.")
    assert normalized_text(e) == "user what s up doc assistant nothing much 42 times"
    cjk = Example([Message("user", "你好，世界")])
    assert near_words(cjk) == ["user", "你", "好", "世", "界"]


def test_exact_duplicates_ignore_meta_and_are_grouped_with_lines():
    data = [ex(1, "q", ANSWER, id=1), ex(2, "q", OTHER), ex(3, "q", ANSWER, id=3), ex(4, "q", ANSWER)]
    report = find_duplicates(data)
    assert report.exact_duplicates == 2 and report.near_duplicates == 0
    assert [g.lines for g in report.exact_groups] == [["train.jsonl:1", "train.jsonl:3", "train.jsonl:4"]]
    assert report.near_groups == []
    assert report.share == 0.5


def test_lightly_edited_example_is_a_near_duplicate_but_distinct_ones_are_not():
    edited = edit_one_word(ANSWER)
    data = [ex(1, "tell me", ANSWER), ex(2, "tell me", OTHER), ex(3, "tell me", edited),
            ex(4, "Tell me!", ANSWER.upper()),  # differs only by case and punctuation
            ex(5, "tell me", words(40))]
    report = find_duplicates(data)
    assert report.exact_duplicates == 0
    assert [g.lines for g in report.near_groups] == [["train.jsonl:1", "train.jsonl:3", "train.jsonl:4"]]
    assert report.near_duplicates == 2
    assert report.share == 0.4


def test_verified_jaccard_is_exact_for_short_texts():
    a, b = ANSWER.split(), edit_one_word(ANSWER).split()
    sa, sb = shingle_hashes(a), shingle_hashes(b)
    from array import array

    expected = len(sa & sb) / len(sa | sb)
    assert jaccard(array("I", sorted(sa)), True, array("I", sorted(sb)), True) == expected
    assert 0.8 <= expected < 1  # one changed word in 40 leaves ~85% of the 3-shingles shared


def test_edits_below_the_threshold_are_not_near_duplicates():
    base = ANSWER.split()
    changed = list(base)
    for i in (5, 15, 25, 35):  # four scattered edits: Jaccard well under 0.8
        changed[i] = "CHANGED"
    report = find_duplicates([ex(1, "q", ANSWER), ex(2, "q", " ".join(changed))])
    assert report.near_groups == [] and report.near_duplicates == 0


def test_a_shared_system_prompt_does_not_make_examples_alike():
    data = [ex(i, f"question {i}", words(8)) for i in range(1, 30)]
    assert find_duplicates(data).near_duplicates == 0


def test_large_buckets_of_templated_near_duplicates_are_grouped():
    # 60 examples differing only in one trailing word: every pair is a near duplicate and they
    # all land in shared LSH buckets, past the size verified pairwise.
    data = [ex(i, "q", f"{ANSWER} {OTHER} item{i}") for i in range(1, 61)]
    report = find_duplicates(data)
    assert report.near_duplicates == 59
    assert len(report.near_groups) == 1 and len(report.near_groups[0].lines) == 60


def test_examples_without_source_are_numbered():
    report = find_duplicates([Example([Message("user", "x")]), Example([Message("user", "x")])])
    assert report.exact_groups[0].lines == ["example 1", "example 2"]


def test_overlap_names_exact_and_near_leaks_with_training_lines():
    train = [ex(1, "q", ANSWER), ex(2, "q", OTHER), ex(3, "q", words(40))]
    val = [ex(1, "q", ANSWER, file="val.jsonl"),  # exact copy of train 1
           ex(2, "q", words(40), file="val.jsonl"),  # distinct
           ex(3, "q", edit_one_word(OTHER), file="val.jsonl"),  # near copy of train 2
           ex(4, "q", ANSWER, file="val.jsonl")]  # another exact copy
    report = overlap(train, val)
    assert report.validation_examples == 4
    assert [(l.line, l.kind, l.train_lines) for l in report.leaks] == [
        ("val.jsonl:1", "exact", ["train.jsonl:1"]),
        ("val.jsonl:3", "near", ["train.jsonl:2"]),
        ("val.jsonl:4", "exact", ["train.jsonl:1"]),
    ]
    near = report.leaks[1]
    assert 0.8 <= near.similarity < 1
    assert report.to_dict()["leaked"] == 3


def test_no_overlap_between_distinct_sets():
    train = [ex(i, "q", words(30)) for i in range(1, 20)]
    val = [ex(i, "q", words(30), file="val.jsonl") for i in range(1, 6)]
    report = overlap(train, val)
    assert not report and report.lines == []


def test_near_duplicates_are_found_at_scale_without_false_positives():
    rng = random.Random(3)
    data = [ex(i, words(10, rng), words(60, rng)) for i in range(1, 2001)]
    planted = {}
    for i in range(0, 2000, 100):
        copy = ex(5000 + i, data[i].messages[1].content, edit_one_word(data[i].messages[2].content, 30))
        data.append(copy)
        planted[f"train.jsonl:{i + 1}"] = f"train.jsonl:{5000 + i}"
    report = find_duplicates(data)
    found = {g.lines[0]: g.lines[1] for g in report.near_groups if len(g.lines) == 2}
    assert found == planted
    assert report.near_duplicates == 20 and report.exact_duplicates == 0


SCRIPT = """
import json, random, sys
sys.path.insert(0, {tests!r})
from test_dedupe import ex, words, edit_one_word
from ftx.data.dedupe import DedupeIndex
rng = random.Random(1)
data = [ex(i, "q", words(30, rng)) for i in range(1, 200)]
data += [ex(300 + i, "q", edit_one_word(data[i].messages[2].content, 10)) for i in range(0, 50, 7)]
index = DedupeIndex()
for e in data:
    index.add(e)
print(json.dumps([index.report().to_dict(), [index._bands[b].tolist() for b in (0, 15)]]))
"""


def test_results_do_not_depend_on_python_hash_seed():
    script = SCRIPT.format(tests=os.path.dirname(__file__))
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        outputs.append(json.loads(done.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0][0]["near_duplicates"] == 8


def test_index_streams_and_reports_twice_the_same():
    index = DedupeIndex()
    for e in [ex(1, "q", ANSWER), ex(2, "q", edit_one_word(ANSWER)), ex(3, "q", ANSWER)]:
        index.add(e)
    assert len(index) == 3
    assert index.report() == index.report()


def test_long_texts_are_compared_on_their_sketches():
    rng = random.Random(11)
    long_text = words(400, rng)  # ~400 shingles: past the 128 kept whole
    light = long_text.split()
    for i in (50, 250):
        light[i] = "CHANGED"
    heavy = long_text.split()
    for i in range(0, 400, 12):
        heavy[i] = "CHANGED"
    report = find_duplicates([ex(1, "q", long_text), ex(2, "q", " ".join(light)), ex(3, "q", " ".join(heavy))])
    assert [g.lines for g in report.near_groups] == [["train.jsonl:1", "train.jsonl:2"]]
