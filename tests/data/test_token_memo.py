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
