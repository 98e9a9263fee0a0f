"""The duplicate index built in a forked child (core/data/dedupe_fork.py) answers exactly as the
index built in this process: same duplicate groups, same leaks, and the same when the child fails."""

from __future__ import annotations

import os
import random
import sys

import pytest

from ftx.data import dedupe_fork
from ftx.data.dedupe import DedupeIndex
from ftx.data.dedupe_fork import ForkedIndex, index_for
from ftx.data.stats import compute_stats

from test_dedupe import edit_one_word, ex, words

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux only")


def sets() -> tuple[list, list]:
    rng = random.Random(11)
    train = [ex(i + 1, words(12, rng), words(40, rng)) for i in range(600)]
    for i in range(0, 60, 3):  # exact copies and one-word edits inside the training set
        train.append(ex(len(train) + 1, train[i].messages[1].content, train[i].messages[2].content))
        train.append(ex(len(train) + 1, train[i + 1].messages[1].content, edit_one_word(train[i + 1].messages[2].content)))
    validation = [ex(i + 1, words(12, rng), words(40, rng), file="val.jsonl") for i in range(150)]
    validation += [ex(200 + i, train[i].messages[1].content, train[i].messages[2].content, file="val.jsonl")
                   for i in range(100, 110)]  # exact leaks
    validation += [ex(300 + i, train[i].messages[1].content, edit_one_word(train[i].messages[2].content, 5),
                      file="val.jsonl") for i in range(200, 205)]  # near leaks
    validation.append(ex(400, validation[0].messages[1].content, validation[0].messages[2].content, file="val.jsonl"))
    return train, validation


def answers(index, train, validation):
    got = [compute_stats(train, index=index).duplicates, compute_stats(validation, index=index, side=1).duplicates,
           index.leaks()]
    index.close()
    return got


def test_the_forked_index_answers_as_the_index_in_this_process():
    train, validation = sets()
    here = answers(DedupeIndex(), train, validation)
    forked = ForkedIndex([train, validation])
    assert forked._pid is not None  # a child really answered
    there = answers(forked, train, validation)
    assert there == here
    assert here[0].exact_duplicates == 20 and here[0].near_duplicates >= 15
    assert len(here[2].leaks) == 15 and {leak.kind for leak in here[2].leaks} == {"exact", "near"}
    assert here[1].exact_duplicates == 1


def test_a_failed_child_leaves_the_index_to_this_process(monkeypatch):
    train, validation = sets()
    here = answers(DedupeIndex(), train, validation)
    parent = os.getpid()
    real = dedupe_fork._answers

    def dying(sides):
        if os.getpid() != parent:
            os._exit(3)  # killed before it answered
        yield from real(sides)

    monkeypatch.setattr(dedupe_fork, "_answers", dying)
    assert answers(ForkedIndex([train, validation]), train, validation) == here


def test_one_set_and_the_closed_child():
    train, _ = sets()
    forked = ForkedIndex([train])
    assert compute_stats(train, index=forked).duplicates == compute_stats(train).duplicates
    forked.close()
    assert forked._pid is None and forked._fd is None  # reaped: no zombie left
    with pytest.raises(ValueError):
        forked.leaks()


def test_examples_must_come_in_the_order_given():
    train, validation = sets()
    forked = ForkedIndex([train, validation])
    try:
        with pytest.raises(ValueError):
            forked.add(validation[0])  # side 0 expects the training set's first example
    finally:
        forked.close()


def test_small_sets_and_workers_0_stay_in_this_process(monkeypatch):
    train, validation = sets()
    assert isinstance(index_for([train, validation]), DedupeIndex)  # under MIN_EXAMPLES
    monkeypatch.setattr(dedupe_fork, "MIN_EXAMPLES", 10)
    monkeypatch.setattr(dedupe_fork, "_usable_cores", lambda: 2)
    forked = index_for([train, validation])
    assert isinstance(forked, ForkedIndex)
    forked.close()
    monkeypatch.setenv("FTX_DATA_WORKERS", "0")
    assert isinstance(index_for([train, validation]), DedupeIndex)
    monkeypatch.setattr(dedupe_fork, "_usable_cores", lambda: 1)
    monkeypatch.delenv("FTX_DATA_WORKERS")
    assert isinstance(index_for([train, validation]), DedupeIndex)


def test_no_fork_beside_other_threads(monkeypatch):
    import threading

    train, validation = sets()
    monkeypatch.setattr(dedupe_fork, "MIN_EXAMPLES", 10)
    monkeypatch.setattr(dedupe_fork, "_usable_cores", lambda: 2)
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert isinstance(index_for([train, validation]), DedupeIndex)
    finally:
        release.set()
        other.join()
    forked = index_for([train, validation])
    assert isinstance(forked, ForkedIndex)
    forked.close()
