"""Fingerprints of examples for duplicate detection: canonical hashes, normalized words, word
shingles, one-permutation MinHash band keys and sketch Jaccard (see :mod:`ftx.data.dedupe`)."""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from array import array
from bisect import bisect_left

from ..example import Example

THRESHOLD = 0.8
SHINGLE = 3
BANDS, ROWS = 16, 8
BINS = BANDS * ROWS  # 128
SKETCH = 128
_BIN_BITS = 7  # log2(BINS)
_VALUE_BITS = 32 - _BIN_BITS

# Scripts written without spaces are shingled per character so that words exist at all.
_NO_SPACE = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_NO_SPACE}]|[^\W_{_NO_SPACE}]+")
_M32 = 0xFFFFFFFF


def canonical(example: Example) -> str:
    """The canonical JSON of what an example trains on: equal strings mean exact duplicates."""
    def msgs(messages):
        return None if messages is None else [m.to_openai() for m in messages]

    body = [example.kind, msgs(example.messages), msgs(example.chosen), msgs(example.rejected),
            example.tools]
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def exact_hash(example: Example) -> int:
    return int.from_bytes(hashlib.blake2b(canonical(example).encode(), digest_size=8).digest(), "little")


def near_words(example: Example) -> list[str]:
    """The words of the example's normalized text (lowercase, no punctuation, single spaces)."""
    turns = [m for m in example.messages if m.role != "system"]
    parts = [(m.role, m.content) for m in turns]
    parts += [("chosen", m.content) for m in example.chosen or ()]
    parts += [("rejected", m.content) for m in example.rejected or ()]
    if not any(text for _, text in parts):
        parts = [(m.role, m.content) for m in example.messages]
    words: list[str] = []
    for role, text in parts:
        if text:
            words.append(role)
            words.extend(_WORD.findall(text.lower()))
    return words


def normalized_text(example: Example) -> str:
    return " ".join(near_words(example))


def shingle_hashes(words: list[str]) -> set[int]:
    """32-bit hashes of the word 3-shingles (one shingle of all words when there are fewer)."""
    ids = [zlib.crc32(w.encode()) for w in words]
    if len(ids) < SHINGLE:
        return {hash(tuple(ids)) & _M32} if ids else set()
    # Hashes of int tuples are deterministic (only str/bytes hashing is salted) and well mixed.
    return {hash(s) & _M32 for s in zip(*(ids[i:] for i in range(SHINGLE)))}


_OFFSETS = [d << _VALUE_BITS for d in range(BINS + 1)]


def band_keys(ordered: list[int]) -> list[int]:
    """LSH keys of a non-empty shingle-hash list sorted ascending: one-permutation MinHash
    (a hash's top bits pick its bin, the smallest rest in each bin is the bin's value),
    densified, cut into bands."""
    sig = [-1] * BINS
    filled: list[int] = []
    mask = (1 << _VALUE_BITS) - 1
    # Sorted hashes group by bin, so each bin's minimum is the first hash of its group.
    if len(ordered) <= 2 * BINS:
        for h in ordered:
            b = h >> _VALUE_BITS
            if sig[b] < 0:
                sig[b] = h & mask
                filled.append(b)
    else:
        for b in range(BINS):
            i = bisect_left(ordered, b << _VALUE_BITS)
            if i < len(ordered) and ordered[i] >> _VALUE_BITS == b:
                sig[b] = ordered[i] & mask
                filled.append(b)
    if len(filled) < BINS:
        # Rotation densification: an empty bin borrows the value of the next filled bin to its
        # right (circularly), offset by the distance so borrowed values never equal real ones.
        offsets = _OFFSETS
        for prev, nxt in zip([filled[-1] - BINS] + filled, filled + [filled[0] + BINS]):
            if nxt - prev > 1:
                value = sig[nxt % BINS]
                for i in range(prev + 1, nxt):
                    sig[i % BINS] = value + offsets[nxt - i]
    return [hash(tuple(sig[k:k + ROWS])) for k in range(0, BINS, ROWS)]


def jaccard(a: array, a_full: bool, b: array, b_full: bool) -> float:
    """Jaccard of two shingle sets from their bottom-k sketches (exact when both are whole)."""
    sa, sb = set(a), set(b)
    if a_full and b_full:
        union = len(sa | sb)
        return len(sa & sb) / union if union else 1.0
    union = sorted(sa | sb)[:SKETCH]
    both = sum(1 for x in union if x in sa and x in sb)
    return both / len(union) if union else 1.0
