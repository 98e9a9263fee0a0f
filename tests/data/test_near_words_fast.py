"""near_words' ASCII fast path (one bytes.translate) finds exactly the regex's words."""

from __future__ import annotations

import random

from ftx.data import minhash
from ftx.example import Example, Message

ALPHABET = [chr(i) for i in range(128)] + list("éÜ\u212aİß中文\u00a0")


def _text(rng: random.Random, ascii_only: bool) -> str:
    pool = ALPHABET[:128] if ascii_only else ALPHABET
    return "".join(rng.choice(pool) for _ in range(rng.randint(1, 60)))


def test_fast_words_equal_regex_words():
    rng = random.Random(13)
    fast_taken = 0
    for i in range(3000):
        messages = [Message("system", "Be Brief."), Message("user", _text(rng, i % 3 != 0)),
                    Message("assistant", _text(rng, i % 5 != 0))]
        example = Example(messages=messages)
        parts = [(role, text) for role, text in minhash._parts(example) if text]
        joined = " ".join(f"{role} {text}" for role, text in parts)
        fast_taken += joined.isascii()
        assert minhash.near_words(example) == minhash._word_findall()(joined.lower()), messages
    assert fast_taken > 1000


def test_kelvin_sign_lowercases_to_ascii():
    example = Example(messages=[Message("user", "273 \u212aelvin"), Message("assistant", "OK")])
    assert minhash.near_words(example) == ["user", "273", "kelvin", "assistant", "ok"]
