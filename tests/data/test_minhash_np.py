"""The numpy fingerprints equal the pure-Python ones, so findings never depend on which ran; the
near-duplicate index's memory bound is reported, not silent; one index serves the validation
set's own duplicates as a separate index would."""

from __future__ import annotations

import random

import pytest

np = pytest.importorskip("numpy")

from ftx.data import dedupe, minhash  # noqa: E402
from ftx.data.minhash_np import fingerprints, plain_hashes, text_hashes, word_ids_of_bytes  # noqa: E402
from test_dedupe import edit_one_word, ex, words  # noqa: E402


def test_numpy_fingerprints_equal_the_pure_python_ones():
    rng = random.Random(5)
    vocab = [f"w{i}" for i in range(50)] + ["你", "好", "naïve", "x"]
    corpus = [[rng.choice(vocab) for _ in range(rng.choice([0, 1, 2, 3, 4, 7, 40, 127, 128, 129, 131, 400]))]
              for _ in range(1500)]
    ids = np.array([i for w in corpus for i in minhash.word_ids(w)], dtype=np.uint64)
    keys, sketches, lengths, whole = fingerprints(ids, np.array([len(w) for w in corpus]))
    at = 0
    for i, w in enumerate(corpus):
        py_keys, py_sketch, py_whole = minhash.fingerprint(w)
        if w:
            assert keys[i].tolist() == py_keys
        assert sketches[at:at + lengths[i]].tolist() == py_sketch and bool(whole[i]) == py_whole
        assert set(py_sketch) <= minhash.shingle_hashes(w)
        at += int(lengths[i])


def test_numpy_word_ids_equal_the_pure_python_ones():
    rng = random.Random(8)
    alphabet = "abcxyz0189éü你好K"
    words = [w for w in ("a", "abcdefg", "abcdefgh", "abcdefghi", "x" * 16, "x" * 17, "naïve", "你好") + tuple(
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(3000))]
    ids, starts = word_ids_of_bytes(("  " + "   ".join(words) + " ").encode())
    assert ids.tolist() == [minhash.word_hash(w) for w in words]
    assert len(set(ids.tolist())) == len(set(words))  # 64-bit ids: distinct words, distinct ids
    assert starts[:2].tolist() == [2, 6]


def test_numpy_text_and_plain_hashes_equal_the_pure_python_ones():
    rng = random.Random(6)
    texts = [[rng.choice(["a", "b", "c", "d"]) for _ in range(rng.randint(0, 9))] for _ in range(500)]
    ids = np.array([i for w in texts for i in minhash.word_ids(w)], dtype=np.uint64)
    got = text_hashes(ids, np.array([len(w) for w in texts])).tolist()
    assert got == [minhash.text_hash(minhash.word_ids(w)) for w in texts]
    assert [h == 0 for h in got] == [not w for w in texts]
    # Equal texts, equal hashes; a different order of the same words, another hash.
    assert minhash.text_hash(minhash.word_ids(["a", "b"])) != minhash.text_hash(minhash.word_ids(["b", "a"]))
    examples = [(rng.choice(["chat", "completion"]), [(rng.choice(["user", "assistant"]), rng.choice(["x", "", None, "y z"]))
                                                      for _ in range(rng.randint(0, 4))]) for _ in range(300)]
    kinds = np.array([hash(k) for k, _ in examples], dtype=np.int64)
    roles = np.array([hash(r) for _, ms in examples for r, _ in ms], dtype=np.int64)
    texts_h = np.array([hash(t if t is not None else "") for _, ms in examples for _, t in ms], dtype=np.int64)
    counts = np.array([len(ms) for _, ms in examples])
    assert plain_hashes(kinds, roles, texts_h, counts).tolist() == [
        minhash.plain_hash(k, [r for r, _ in ms], [t for _, t in ms]) for k, ms in examples]


def _corpus(n: int = 1200):
    rng = random.Random(9)
    data = [ex(i, words(8, rng), words(rng.randint(3, 150), rng)) for i in range(1, n + 1)]
    for i in range(0, n, 97):  # planted near copies and exact copies
        text = data[i].messages[2].content
        if len(text.split()) > 25:
            data.append(ex(5000 + i, data[i].messages[1].content, edit_one_word(text, 12)))
        data.append(ex(7000 + i, data[i].messages[1].content, text))
    return data


def test_the_numpy_and_pure_python_indexes_find_the_same(monkeypatch):
    data = _corpus()
    found = dedupe.find_duplicates(data).to_dict(max_groups=10_000)
    monkeypatch.setenv("FTX_DEDUPE_NUMPY", "0")
    assert dedupe.find_duplicates(data).to_dict(max_groups=10_000) == found
    assert found["near_duplicates"] >= 8 and found["exact_duplicates"] == 13 and not found["near_limited"]


def test_the_memory_bound_limits_the_near_check_and_says_so(monkeypatch):
    from ftx.data.advice import dataset_warnings
    from ftx.data.stats import compute_stats

    data = _corpus()
    monkeypatch.setenv("FTX_DEDUPE_MAX_MB", "0.2")
    stats = compute_stats(data)
    d = stats.duplicates
    assert d.near_limited and 0 < d.near_checked < d.examples == len(data)
    assert d.exact_duplicates == 13  # exact copies are still found everywhere
    assert d.to_dict()["near_limited"] is True
    note = d.limit_note()
    assert f"first {d.near_checked:,} of {len(data):,}" in note and "FTX_DEDUPE_MAX_MB=0" in note
    assert any("FTX_DEDUPE_MAX_MB" in w for w in dataset_warnings(stats))
    monkeypatch.setenv("FTX_DEDUPE_MAX_MB", "1024")
    full = compute_stats(data).duplicates
    assert not full.near_limited and full.near_checked == len(data) and full.near_duplicates >= d.near_duplicates


def test_one_index_reports_the_validation_sets_own_duplicates():
    from ftx.data.stats import compute_stats

    train = _corpus(600)
    rng = random.Random(4)
    val = [ex(i, "q", words(30, rng), file="val.jsonl") for i in range(1, 40)]
    val += [ex(100, "q", val[3].messages[2].content, file="val.jsonl"),  # exact copy within validation
            ex(101, "q", edit_one_word(val[5].messages[2].content, 10), file="val.jsonl"),  # near copy
            ex(102, "q", train[0].messages[2].content, file="val.jsonl")]  # a leak
    index = dedupe.DedupeIndex()
    compute_stats(train, index=index)
    shared = compute_stats(val, index=index, side=1).duplicates
    assert shared == compute_stats(val).duplicates
    assert shared.exact_duplicates == 1 and shared.near_duplicates == 1
    assert index.leaks().to_dict() == dedupe.overlap(train, val).to_dict()


@pytest.mark.parametrize("value", ["lots", "-5", "nan", "inf"])
def test_a_bad_memory_bound_is_refused_not_replaced(monkeypatch, value):
    from ftx.data.dedupe import max_index_bytes
    from ftx.errors import FtxError

    monkeypatch.setenv("FTX_DEDUPE_MAX_MB", value)
    with pytest.raises(FtxError, match="FTX_DEDUPE_MAX_MB"):
        max_index_bytes()
    monkeypatch.setenv("FTX_DEDUPE_MAX_MB", "0.5")
    assert max_index_bytes() == 512 * 1024
