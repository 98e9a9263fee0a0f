"""A command counts each text once: counters remember counts, within a bounded memo."""

from __future__ import annotations

from ftx.data.tokens import OpenAICounter


def test_openai_counter_counts_each_text_once(monkeypatch):
    counter = OpenAICounter("o200k_base")
    calls: list[str] = []
    real = counter._count
    counter._count = lambda text: calls.append(text) or real(text)
    first = [counter.count("hello world"), counter.count("hello world"), counter.count("other text")]
    assert first == [real("hello world"), real("hello world"), real("other text")]
    assert calls == ["hello world", "other text"]
    assert counter.count_many(["hello world", "", "other text"]) == [first[0], 0, first[2]]
    assert len(calls) == 2


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setenv("FTX_TOKEN_MEMO", "2")
    counter = OpenAICounter("o200k_base")
    for text in ("a b", "c d", "e f", "g h"):
        counter.count(text)
    assert len(counter._memo) == 2 and counter.count("g h") == counter._count("g h")


def test_the_leak_check_continues_from_the_training_sets_index():
    """Stats and leakage share one index of the training set, with the answers of separate ones."""
    from ftx.data.dedupe import DedupeIndex, overlap
    from ftx.data.stats import compute_stats
    from ftx.example import Example, Message

    def ex(q: str, a: str) -> Example:
        return Example(messages=[Message(role="user", content=q), Message(role="assistant", content=a)])

    answer = "the quick brown fox jumps over the lazy dog near the river bank today"
    train = [ex("what does the fox do?", answer), ex("what does the fox do?", answer), ex("other?", "no")]
    validation = [ex("what does the fox do?", answer + " again"), ex("unrelated question?", "fine")]
    index = DedupeIndex()
    stats = compute_stats(train, index=index)
    assert stats.duplicates.exact_duplicates == compute_stats(train).duplicates.exact_duplicates == 1
    shared = overlap(train, validation, index=index).to_dict()
    assert shared == overlap(train, validation).to_dict() and shared["leaked"] == 1


def _texts(n: int) -> list[str]:
    return [f"example {i}: the quick brown fox {i * 7} jumps" for i in range(n)]


def test_count_all_counts_as_count_does_with_the_store_and_straight(monkeypatch, tmp_path):
    from ftx.data import token_store

    monkeypatch.setenv("FTX_HOME", str(tmp_path))
    texts = _texts(60) + ["", "example 3: the quick brown fox 21 jumps"]  # a blank and a repeat
    expected = {t: OpenAICounter("o200k_base")._count(t) for t in texts if t}

    few = OpenAICounter("o200k_base")  # within the store's room: through count(), stored
    few.count_all(texts)
    assert few._memo == expected and few._store is not None and len(few._store._fresh) == 60

    monkeypatch.setattr(token_store, "MAX_ENTRIES", 10)
    many = OpenAICounter("o200k_base")  # more new texts than the store keeps: straight, nothing stored
    many.count_all(iter(texts))
    assert many._memo == expected and many._store._overflow and not many._store._fresh
    assert [many.count(t) for t in texts] == [expected.get(t, 0) for t in texts]


def test_count_all_keeps_the_memo_bound(monkeypatch):
    from ftx.data import token_store

    monkeypatch.setattr(token_store, "MAX_ENTRIES", 1)
    monkeypatch.setenv("FTX_TOKEN_MEMO", "5")
    counter = OpenAICounter("o200k_base")
    texts = _texts(20)
    counter.count_all(texts)
    assert list(counter._memo) == texts[:5]
    assert counter.count(texts[-1]) == counter._count(texts[-1])  # counted when asked
