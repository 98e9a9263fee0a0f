"""The forked child's share of the token counts (core/data/token_share.py) leaves the memo exactly
as counting in one process does: the same texts, the same counts, in the same order; and so when
the child dies, or no child is forked."""

from __future__ import annotations

import os
import sys

import pytest

from ftx.data import dedupe_fork, token_store
from ftx.data.dedupe import DedupeIndex
from ftx.data.dedupe_fork import ForkedIndex
from ftx.data.stats import compute_stats
from ftx.data.token_share import Meanwhile, Share, plan_share
from ftx.data.tokens import OpenAICounter

from test_dedupe_fork import answers, sets

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks on Linux only")


def _texts(train, validation) -> list[str]:
    return [m.content for side in (train, validation) for e in side for m in e.messages]


def _one_process(texts, monkeypatch) -> dict[str, int]:
    monkeypatch.setattr(token_store, "MAX_ENTRIES", 10)  # the straight path at this size
    counter = OpenAICounter("o200k_base")
    counter.count("You are helpful.")
    counter.count_all(iter(texts))
    return counter._memo


def _shared(texts, share: float, index_of) -> tuple[OpenAICounter, Share, object]:
    counter = OpenAICounter("o200k_base")
    counter.count("You are helpful.")  # counted before: not counted again, kept first
    planned = plan_share(counter, iter(texts), share)
    assert planned is not None and 0 < planned.start < len(planned.texts)
    index = index_of(planned)
    planned.finish(index)
    return counter, planned, index


def test_the_childs_share_counts_as_one_process_does(monkeypatch, tmp_path):
    monkeypatch.setenv("FTX_HOME", str(tmp_path))
    train, validation = sets()
    texts = ["You are helpful."] + _texts(train, validation) + ["", train[3].messages[1].content]
    expected = _one_process(texts, monkeypatch)
    counter, planned, index = _shared(texts, 0.4, lambda p: ForkedIndex([train, validation], first=p.child_part))
    assert index._pid is not None  # a child really counted its share
    assert index.first_answer() == len(planned.texts) - planned.start
    assert list(counter._memo.items()) == list(expected.items())
    assert answers(index, train, validation) == answers(DedupeIndex(), train, validation)  # the index after it


def test_a_child_that_dies_first_leaves_the_counts_and_the_index_here(monkeypatch, tmp_path):
    monkeypatch.setenv("FTX_HOME", str(tmp_path))
    train, validation = sets()
    texts = _texts(train, validation)
    expected = _one_process(texts, monkeypatch)
    parent = os.getpid()

    def dying() -> int:
        if os.getpid() != parent:
            os._exit(3)
        return 0

    counter, _, index = _shared(texts, 0.4, lambda p: ForkedIndex([train, validation], first=dying))
    assert list(counter._memo.items()) == list(expected.items())
    assert answers(index, train, validation) == answers(DedupeIndex(), train, validation)


def test_a_wrong_answer_is_not_taken(monkeypatch, tmp_path):
    monkeypatch.setenv("FTX_HOME", str(tmp_path))
    train, validation = sets()
    texts = _texts(train, validation)
    expected = _one_process(texts, monkeypatch)
    counter, _, index = _shared(texts, 0.4, lambda p: ForkedIndex([train, validation], first=lambda: 1))
    index.close()
    assert list(counter._memo.items()) == list(expected.items())


def test_without_a_child_everything_is_counted_here(monkeypatch, tmp_path):
    monkeypatch.setenv("FTX_HOME", str(tmp_path))
    train, validation = sets()
    texts = _texts(train, validation)
    expected = _one_process(texts, monkeypatch)
    counter, _, _ = _shared(texts, 0.4, lambda p: DedupeIndex())
    assert list(counter._memo.items()) == list(expected.items())


def test_few_texts_go_through_the_store_and_no_share(monkeypatch, tmp_path):
    monkeypatch.setenv("FTX_HOME", str(tmp_path))
    counter = OpenAICounter("o200k_base")
    assert plan_share(counter, iter(["a b", "c d", "a b"]), 0.5) is None
    assert list(counter._memo) == ["a b", "c d"] and len(counter._store._fresh) == 2


def test_the_plan_counts_a_share_in_the_child_only_with_work_meanwhile(monkeypatch, tmp_path):
    """plan_data with a Meanwhile: the child counts a share, ``while_counting`` runs before the
    child's counts are taken, ``once_counted`` once every text is counted (before the
    statistics); without it, no share. The summary and warnings are the same either way."""
    import json

    from ftx.components import get_backend
    from ftx.data import plan as plan_module
    from ftx.recipe import load_recipe

    monkeypatch.setenv("FTX_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(token_store, "MAX_ENTRIES", 10)
    monkeypatch.setattr(dedupe_fork, "forking_pays", lambda examples: True)  # whatever threads the suite left
    train, _ = sets()
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"messages": [{"role": m.role, "content": m.content} for m in e.messages]})
                            + "\n" for e in train), encoding="utf-8")
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(f"name: share\nmodel: {{openai: gpt-4.1-mini-2025-04-14}}\ndata: {{train: {data}}}\n",
                           encoding="utf-8")
    shared: list[int] = []
    real_finish = Share.finish
    monkeypatch.setattr(Share, "finish", lambda self, index, meanwhile=None:
                        shared.append(self.start) or real_finish(self, index, meanwhile))
    seen: list[int] = []

    def plan(meanwhile):
        from ftx.data.tokens import _cached_counter

        _cached_counter.cache_clear()
        recipe = load_recipe(str(recipe_file), [], backend="openai")
        return plan_module.plan_data(recipe, get_backend("openai"), Meanwhile(meanwhile, lambda: seen.append(-1), 0.4)
                                     if meanwhile else None)

    def meanwhile() -> None:
        from ftx.data.tokens import get_counter

        seen.append(len(get_counter("o200k_base")._memo))  # every text counted by now

    with_share = plan(meanwhile)
    # while the child counted: before the counts were all in; then once they were
    assert shared and seen[0] == -1 and seen[1] == len({m.content for e in train for m in e.messages})
    shared.clear()
    assert plan(None) == with_share and not shared
    assert compute_stats(train).examples == with_share[0]["train_examples"] + with_share[0]["validation_examples"]
