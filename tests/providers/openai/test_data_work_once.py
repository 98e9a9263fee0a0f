"""Issue 13: a hosted launch does each piece of data work once per command. ``ftx run --backend
openai`` (its plan, its estimate, the provider's checks and the launch) counts each text's tokens
once, indexes each example for duplicates once (one index serving both sets' statistics and the
leak check), and prepares the job once, against the fake OpenAI server."""

from __future__ import annotations

import json
from collections import Counter

import pytest


@pytest.fixture
def counted(monkeypatch):
    """Counts of the expensive steps, wrapped around the real ones."""
    from ftx.data import dedupe, minhash, tokens
    from ftx.hosted import prepare as hosted_prepare

    calls = {"texts": Counter(), "index_add": 0, "exact_hash": 0, "near_words": 0, "prepare_job": 0}
    real_bpe = tokens._bpe_count_function

    def counting_bpe(encoding):
        count = real_bpe(encoding)

        def counted_count(text):
            calls["texts"][text] += 1
            return count(text)

        return counted_count

    def wrap(module, name, key):
        real = getattr(module, name)

        def wrapper(*args, **kwargs):
            calls[key] += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    monkeypatch.setattr(tokens, "_bpe_count_function", counting_bpe)
    tokens._cached_counter.cache_clear()  # counters built by earlier tests hold the real function
    wrap(dedupe.DedupeIndex, "add", "index_add")
    wrap(dedupe, "exact_hash", "exact_hash")
    wrap(dedupe, "near_words", "near_words")
    wrap(hosted_prepare, "prepare_job", "prepare_job")
    yield calls
    tokens._cached_counter.cache_clear()


def _examples(n: int) -> str:
    return "".join(json.dumps({"messages": [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": f"What is {i} plus {i}, said in words?"},
        {"role": "assistant", "content": f"{i} plus {i} makes {2 * i}, said in words."}]}) + "\n" for i in range(n))


def test_a_hosted_launch_counts_indexes_and_prepares_once(cli, fake_openai, make_recipe, counted):
    lines = _examples(50).splitlines(keepends=True)
    recipe = make_recipe(train="".join(lines[:40]), validation="".join(lines[40:]))
    result = cli("run", recipe, "--backend", "openai", "--yes", "--detach")
    assert result.exit_code == 0, result
    assert len(fake_openai.jobs) == 1
    texts = counted["texts"]
    # Every distinct text was tokenized, none twice: the plan's statistics, the provider's
    # checks, the estimate and the launch all used the same counts.
    assert texts and max(texts.values()) == 1, texts.most_common(3)
    assert "What is 7 plus 7, said in words?" in texts and "You answer briefly." in texts
    # 40 training + 10 validation examples, each fingerprinted once (one index for both sets'
    # statistics and the leak check).
    assert counted["index_add"] == counted["exact_hash"] == counted["near_words"] == 50
    assert counted["prepare_job"] == 1  # the dry-run plan's prepared job is the one launched


def test_the_dry_run_alone_does_the_same_work_once(cli, fake_openai, make_recipe, counted):
    recipe = make_recipe(train=_examples(40))
    result = cli("run", recipe, "--backend", "openai", "--dry-run")
    assert result.exit_code == 0, result
    assert max(counted["texts"].values()) == 1
    assert counted["index_add"] == 40  # split 32 train + 8 validation, each indexed once
    assert counted["prepare_job"] == 1


def test_a_large_launch_indexes_each_example_once_in_chunks(cli, fake_openai, make_recipe, counted, monkeypatch):
    """From 512 examples the index works a chunk at a time (ftx.data.dedupe_batch): each example
    goes into exactly one chunk, and the per-example paths are not taken for plain chat."""
    from ftx.data import dedupe_batch

    chunked = []
    real_init = dedupe_batch.Chunk.__init__

    def counting_init(self, examples):
        chunked.append(len(examples))
        real_init(self, examples)

    monkeypatch.setattr(dedupe_batch.Chunk, "__init__", counting_init)
    lines = _examples(600).splitlines(keepends=True)
    recipe = make_recipe(train="".join(lines[:520]), validation="".join(lines[520:]))
    result = cli("run", recipe, "--backend", "openai", "--yes", "--detach")
    assert result.exit_code == 0, result
    assert len(fake_openai.jobs) == 1
    assert max(counted["texts"].values()) == 1
    assert counted["index_add"] == sum(chunked) == 600  # one index, each example in one chunk
    assert counted["exact_hash"] == counted["near_words"] == 0
    assert counted["prepare_job"] == 1
