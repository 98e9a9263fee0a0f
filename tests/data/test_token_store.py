"""Token counts kept between commands (``ftx.data.token_store``, issue 13's start-up): a text
counted once is not counted (nor the tokenizer built) again; a changed text is; the store is
bounded, can be turned off, and holds keyed digests only."""

from __future__ import annotations

import os

import pytest


def _fresh_counter(monkeypatch, built: list[str]):
    from ftx.data import tokens

    real = getattr(tokens._bpe_count_function, "real", tokens._bpe_count_function)

    def counting(encoding):
        built.append(encoding)
        return real(encoding)

    counting.real = real  # type: ignore[attr-defined]
    monkeypatch.setattr(tokens, "_bpe_count_function", counting)
    return tokens.OpenAICounter("o200k_base")


def test_token_counts_are_kept_and_a_changed_text_is_counted_again(monkeypatch):
    from ftx.data import token_store, tokens

    texts = ["What is 2+2?", "4", "naïve café 🚀 — 日本語", "a" * 500]
    tokenizer = tokens._bpe_count_function("o200k_base")
    built: list[str] = []
    first = _fresh_counter(monkeypatch, built)
    truth = [first.count(t) for t in texts]
    assert built == ["o200k_base"]
    first._store.save()  # as at the end of the command

    again = _fresh_counter(monkeypatch, built)
    assert [again.count(t) for t in texts] == truth
    assert built == ["o200k_base"], "the tokenizer was built although every text was counted before"
    assert again._native is None

    changed = "What is 2+3?"
    n = again.count(changed)  # not in the store: the tokenizer counts it
    assert built == ["o200k_base", "o200k_base"] and n == tokenizer(changed)
    assert truth == [tokenizer(t) for t in texts]
    again._store.save()
    third = _fresh_counter(monkeypatch, built)
    assert third.count(changed) == n and third._native is None

    # A store written by another tokenizer build (or damaged) counts as empty.
    path = third._store.path
    other = token_store.TokenStore(path, [*third._store.key[:-1], ["elsewhere", 1, 2]])
    assert other.get("4") is None
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 3)
    assert _fresh_counter(monkeypatch, built).count("4") == truth[1] and len(built) == 3


def test_token_store_digests_are_keyed_per_home(monkeypatch, tmp_path):
    """The store holds no plain digest of a text: it is keyed with the home's own random key
    (owner-only), so the file cannot confirm a guessed text without it; another home's key, or a
    key made again, reads the counts as none; no key to be had means nothing is stored."""
    import hashlib
    import stat

    from ftx.data import token_store

    built: list[str] = []
    counter = _fresh_counter(monkeypatch, built)
    secret = "api_key=sk-live-1234"
    n = counter.count(secret)
    counter._store.save()
    store = counter._store
    folder = os.path.dirname(store.path)
    key_file = os.path.join(folder, "key")
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600 and os.path.getsize(key_file) == 32
    blob = open(store.path, "rb").read()
    plain = hashlib.blake2b(secret.encode(), digest_size=16).digest()
    assert plain not in blob and secret.encode() not in blob and store.digest(secret) in blob
    assert _fresh_counter(monkeypatch, built).count(secret) == n and len(built) == 1  # same home: kept

    elsewhere = tmp_path / "other" / "token-counts"  # another home's store and key, same counts file
    elsewhere.mkdir(parents=True)
    copy = elsewhere / os.path.basename(store.path)
    copy.write_bytes(blob)
    other = token_store.TokenStore(str(copy), store.key)
    assert other.get(secret) is None and other.digest(secret) != store.digest(secret)

    os.unlink(key_file)  # a key made again: the old counts read as none
    assert _fresh_counter(monkeypatch, built).count(secret) == n and len(built) == 2

    blocker = tmp_path / "a-file"  # no key can be read or made there: nothing stored, counts right
    blocker.write_text("not a folder")
    nowhere = token_store.TokenStore(str(blocker / "token-counts" / "o200k_base.bin"), store.key)
    assert nowhere.get(secret) is None
    nowhere.put(secret, n)
    nowhere.save()
    assert blocker.read_text() == "not a folder"


def test_token_store_can_be_turned_off_and_stays_bounded(monkeypatch):
    from ftx.data import token_store

    monkeypatch.setenv("FTX_TOKEN_STORE", "0")
    built: list[str] = []
    counter = _fresh_counter(monkeypatch, built)
    assert counter._store is None and built == ["o200k_base"]  # built at once, as before the store

    monkeypatch.delenv("FTX_TOKEN_STORE")
    monkeypatch.setattr(token_store, "MAX_ENTRIES", 3)
    counter = _fresh_counter(monkeypatch, built)
    for i in range(3):
        counter.count(f"text {i}")
    counter._store.save()
    later = _fresh_counter(monkeypatch, built)
    for i in range(3, 5):
        later.count(f"text {i}")
    later._store.save()
    kept = later._store._read()
    assert len(kept) == 3 and later._store.digest("text 4") in kept and later._store.digest("text 0") not in kept
    big = _fresh_counter(monkeypatch, built)
    for i in range(10, 15):  # more new texts than the store holds: none kept
        big.count(f"text {i}")
    big._store.save()
    assert big._store._read() == kept
    monkeypatch.setattr(token_store, "_digest", lambda text, key: pytest.fail("hashed after the store overflowed"))
    assert big.count("text 99") == big._native("text 99") > 0
