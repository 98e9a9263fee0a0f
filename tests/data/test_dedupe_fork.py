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


def _files(tmp_path):
    import json

    train, validation = sets()
    paths = []
    for name, examples in (("train.jsonl", train), ("val.jsonl", validation)):
        path = tmp_path / name
        path.write_text("".join(json.dumps({"messages": [{"role": m.role, "content": m.content} for m in e.messages]})
                                + "\n" for e in examples), encoding="utf-8")
        paths.append(str(path))
    return paths


def _read(path):
    from ftx.data.load import iter_examples

    return list(iter_examples(path, "chat", []))


def test_the_streamed_index_reads_the_files_itself_and_answers_the_same(tmp_path):
    from ftx.data.dedupe_fork import StreamedForkedIndex

    paths = _files(tmp_path)
    here = answers(DedupeIndex(), _read(paths[0]), _read(paths[1]))
    streamed = StreamedForkedIndex([lambda p=p: _read(p) for p in paths])
    assert streamed._pid is not None
    # this process streams its own copies: other objects, the same examples
    assert answers(streamed, _read(paths[0]), _read(paths[1])) == here
    assert len(here[2].leaks) == 15 and here[2].leaks[0].line.startswith(paths[1])


def test_a_streamed_child_that_read_other_data_is_not_believed(tmp_path):
    from ftx.data.dedupe_fork import StreamedForkedIndex

    paths = _files(tmp_path)
    here = answers(DedupeIndex(), _read(paths[0]), _read(paths[1]))
    parent = os.getpid()

    def changed(path):  # the file as the child found it: cut short
        examples = _read(path)
        return examples[:-7] if os.getpid() != parent else examples

    streamed = StreamedForkedIndex([lambda p=p: changed(p) for p in paths])
    assert answers(streamed, _read(paths[0]), _read(paths[1])) == here


def test_streamed_forking_only_for_large_regular_files(tmp_path, monkeypatch):
    from ftx.data.dedupe_fork import files_pay, index_for_files

    paths = _files(tmp_path)
    monkeypatch.setattr(dedupe_fork, "_usable_cores", lambda: 2)
    assert not files_pay(paths)  # small
    monkeypatch.setattr(dedupe_fork, "MIN_FILE_BYTES", 1)
    assert files_pay(paths) and not files_pay(paths + [str(tmp_path / "missing.jsonl")])
    assert not files_pay(["/dev/stdin"])
    index = index_for_files([lambda p=p: _read(p) for p in paths], paths)
    assert isinstance(index, dedupe_fork.StreamedForkedIndex)
    index.close()
    monkeypatch.setenv("FTX_DATA_WORKERS", "0")
    assert isinstance(index_for_files([], paths), DedupeIndex)


def test_data_stats_answers_the_same_with_and_without_the_child(tmp_path, monkeypatch, cli):
    import json

    paths = _files(tmp_path)
    monkeypatch.setattr(dedupe_fork, "MIN_FILE_BYTES", 1)
    monkeypatch.setattr(dedupe_fork, "_usable_cores", lambda: 2)
    started = []
    real = dedupe_fork.StreamedForkedIndex._start
    monkeypatch.setattr(dedupe_fork.StreamedForkedIndex, "_start", lambda self: started.append(1) or real(self))
    forked = cli("data", "stats", paths[0], "--validation", paths[1], "--json")
    assert started == [1]  # the child really answered the command
    monkeypatch.setenv("FTX_DATA_WORKERS", "0")
    alone = cli("data", "stats", paths[0], "--validation", paths[1], "--json")
    assert forked.exit_code == alone.exit_code == 0
    assert json.loads(forked.stdout) == json.loads(alone.stdout)
    assert len(json.loads(forked.stdout)["overlap"]["leaks"]) == 15
