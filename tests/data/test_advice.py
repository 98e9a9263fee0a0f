"""Dataset warnings from fine-tuning practice."""

from __future__ import annotations

import re

import pytest

from ftx.data.advice import dataset_warnings, name_lines
from ftx.data.dedupe import DuplicateGroup, DuplicateReport, Leak, OverlapReport
from ftx.data.stats import DatasetStats

BASELINE = "zero-shot and few-shot baseline"


def stats(n: int, **kw) -> DatasetStats:
    return DatasetStats(examples=n, duplicates=DuplicateReport(examples=n), **kw)


def healthy_validation(n: int = 300) -> DatasetStats:
    return stats(n)


def only(warnings: list[str], text: str) -> list[str]:
    return [w for w in warnings if text in w]


@pytest.mark.parametrize("n, hosted, expected, absent", [
    (5, 10, "Only 5 training examples: hosted fine-tuning APIs require at least 10", "rarely benefit from"),
    (1, None, "Only 1 training example: hosted fine-tuning APIs require at least 10", "practice is"),
    (12, 20, "hosted fine-tuning APIs require at least 20", "practice is"),
    (50, 10, "Only 50 training examples: tasks with fewer than 100 quality examples rarely benefit", "excellent"),
    (300, None, "500 excellent examples beat 5,000 mediocre ones", "rarely benefit"),
])
def test_size_tiers(n, hosted, expected, absent):
    warnings = dataset_warnings(stats(n), healthy_validation(), hosted_minimum=hosted)
    size = [w for w in warnings if "training example" in w and "validation" not in w]
    assert len(size) == 1 and expected in size[0] and absent not in size[0]


def test_a_healthy_dataset_only_gets_the_baseline_reminder():
    warnings = dataset_warnings(stats(2000), healthy_validation(300), OverlapReport(300))
    assert len(warnings) == 1 and BASELINE in warnings[0]


def test_duplicate_share_over_one_percent():
    dup = DuplicateReport(examples=1000, exact_duplicates=8, near_duplicates=3,
                          exact_groups=[DuplicateGroup("exact", ["t.jsonl:4", "t.jsonl:90"])])
    [w] = only(dataset_warnings(DatasetStats(examples=1000, duplicates=dup), healthy_validation()), "duplicates")
    assert w.startswith("1.1% of the training examples are duplicates (8 exact, 3 near; e.g. lines 4, 90 of t.jsonl)")
    at_one_percent = DuplicateReport(examples=1000, exact_duplicates=10, exact_groups=dup.exact_groups)
    assert not only(dataset_warnings(DatasetStats(examples=1000, duplicates=at_one_percent),
                                     healthy_validation()), "duplicates")


def test_leakage_names_the_validation_lines():
    leaks = OverlapReport(300, [Leak("v.jsonl:3", "exact", ["t.jsonl:9"], 1.0),
                                Leak("v.jsonl:17", "near", ["t.jsonl:2"], 0.86)])
    [w] = only(dataset_warnings(stats(2000), healthy_validation(), leaks), "duplicate training data")
    assert w.startswith("2 validation examples duplicate training data (lines 3, 17 of v.jsonl)")


def test_no_validation_and_too_small_validation():
    assert only(dataset_warnings(stats(2000)), "overfitting cannot be detected")
    assert only(dataset_warnings(stats(2000), stats(0)), "overfitting cannot be detected")
    [w] = only(dataset_warnings(stats(100), stats(15)), "validation set is small")
    assert "(15 examples, 13% of the data)" in w
    [w] = only(dataset_warnings(stats(2000), stats(60)), "validation set is small")
    assert "(60 examples, 3% of the data)" in w
    assert not only(dataset_warnings(stats(2000), stats(120)), "validation set is small")


def test_truncation_on_each_side():
    train = stats(2000, max_length=1024, unit="tokens", over_max_length=7,
                  over_max_length_lines=[f"t.jsonl:{i}" for i in (1, 5, 9, 11, 12, 40, 41)])
    val = stats(300, max_length=1024, unit="tokens", over_max_length=1, over_max_length_lines=["v.jsonl:2"])
    warnings = dataset_warnings(train, val)
    assert ("7 training examples are longer than max_length 1024 tokens and will be truncated "
            "(lines 1, 5, 9, 11, 12 of t.jsonl and 2 more).") in warnings
    assert ("1 validation example is longer than max_length 1024 tokens and will be truncated "
            "(line 2 of v.jsonl).") in warnings


def test_truncation_estimated_from_characters_says_so():
    train = stats(2000, max_length=256, over_max_length=3, max_length_estimated=True,
                  over_max_length_lines=["t.jsonl:1", "t.jsonl:2", "t.jsonl:8"])
    [w] = only(dataset_warnings(train, healthy_validation()), "max_length")
    assert w == ("About 3 training examples may be longer than max_length 256 tokens and be truncated "
                 "(lines 1, 2, 8 of t.jsonl; estimated at 4 characters per token, give a tokenizer for exact counts).")


def test_imbalanced_strata():
    skewed = stats(2000, stratify_by="label", strata={"pos": 1900, "neg": 100, "odd": 3})
    [w] = only(dataset_warnings(skewed, healthy_validation()), "imbalanced")
    assert "label" in w and "'odd' has 3 examples" in w and "'pos' has 1900" in w
    even = stats(2000, stratify_by="label", strata={"pos": 1100, "neg": 900})
    assert not only(dataset_warnings(even, healthy_validation()), "imbalanced")


def test_every_warning_is_one_sentence_and_the_reminder_comes_last():
    dup = DuplicateReport(examples=20, exact_duplicates=2, exact_groups=[DuplicateGroup("exact", ["a:1", "a:2"])])
    worst = DatasetStats(examples=20, duplicates=dup, max_length=8, over_max_length=1, over_max_length_lines=["a:3"],
                         stratify_by="y", strata={"x": 19, "z": 1})
    warnings = dataset_warnings(worst, stats(2), OverlapReport(2, [Leak("b:1", "exact", ["a:1"], 1.0)]), 10)
    assert len(warnings) == 7
    assert BASELINE in warnings[-1]
    for w in warnings:
        assert "\n" not in w and w.endswith(".") and (w[0].isupper() or w[0].isdigit())
        assert not re.search(r"[.!?]\s+[A-Z]", w), w


def test_empty_training_data():
    assert dataset_warnings(stats(0)) == ["The training data holds no valid examples."]


def test_truncation_names_the_true_total_when_lines_are_capped():
    train = stats(5000, max_length=64, unit="tokens", over_max_length=4321,
                  over_max_length_lines=[f"t.jsonl:{i}" for i in range(1, 1001)])
    [w] = only(dataset_warnings(train, healthy_validation(600)), "max_length")
    assert w.startswith("4,321 training examples are longer than max_length 64 tokens")
    assert "(lines 1, 2, 3, 4, 5 of t.jsonl and 4,316 more)" in w


def test_name_lines():
    assert name_lines(["a.jsonl:3"]) == "line 3 of a.jsonl"
    assert name_lines(["a.jsonl:3", "b.jsonl:4"]) == "a.jsonl:3, b.jsonl:4"
    assert name_lines(["example 1", "example 2"]) == "example 1, example 2"
    assert name_lines([f"x:{i}" for i in range(1, 9)], 3) == "lines 1, 2, 3 of x and 5 more"
