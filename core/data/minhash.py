"""Fingerprints of examples for duplicate detection: canonical hashes, normalized words, word
shingles, one-permutation MinHash band keys and sketch Jaccard (see :mod:`ftx.data.dedupe`).

Two implementations of the same arithmetic: :func:`fingerprint` here, one example at a time in
pure Python (small indexes, and installs without numpy), and
:func:`ftx.data.minhash_np.fingerprints`, thousands of examples per numpy call. Both give
identical shingle hashes, sketches and band keys (``tests/data/test_minhash_np.py``), so which one
ran never changes a finding."""

from __future__ import annotations

import json
import re
from array import array
from operator import mul

from ..example import Example
from .hash64 import hash64

THRESHOLD = 0.8
SHINGLE = 3
# 21 bands of 6 bins (of 128; the last 2 bins only lend values): a pair at Jaccard 0.8 shares a
# band with probability 0.998, at 0.5 with 0.28, at 0.3 with 0.015.
BANDS, ROWS = 21, 6
BINS = 128
SKETCH = 128
BIN_SHIFT = 25  # a 32-bit shingle hash: its top 7 bits pick the bin, the low 25 are its value
VALUE_MASK = (1 << BIN_SHIFT) - 1
PAD = (1 << 32) + 1  # stands for the missing words of an example shorter than a shingle
M64 = (1 << 64) - 1
_M32 = 0xFFFFFFFF

# Odd 64-bit multipliers (from splitmix64's sequence): shingle words, then band rows.
C1, C2, C3 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
ROW_MULT = (0xD6E8FEB86659FD93, 0xA0761D6478BD642F, 0xE7037ED1A0B428DB, 0x8EBC6AF09C88C6E3,
            0x589965CC75374CC3, 0x1D8E4E27C47D124F)

# Scripts written without spaces are shingled per character so that words exist at all.
_NO_SPACE = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD_PATTERN = rf"[{_NO_SPACE}]|[^\W_{_NO_SPACE}]+"
_WORD = None  # its compiled findall, made on first use (~2 ms of start-up that ASCII data never needs)


def _word_findall():
    global _WORD
    if _WORD is None:
        _WORD = re.compile(_WORD_PATTERN).findall
    return _WORD
# Roles that are one lowercase word each: the text of a whole example is then split in one call.
# In ASCII text a word is a run of letters and digits: everything else becomes a space.
_ASCII_SPACES = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})
_ASCII_LOWER_SPACES = bytes(ord(chr(b).lower()) if chr(b).isalnum() else 32 for b in range(128)) + bytes(128)
_PLAIN_ROLES = frozenset({"system", "user", "assistant", "tool", "chosen", "rejected", "developer",
                          "function", "prompt", "completion"})


def fmix64(x: int) -> int:
    """MurmurHash3's 64-bit finalizer: every input bit moves every output bit."""
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & M64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & M64
    return x ^ (x >> 33)


def _circle() -> list[int]:
    """A fixed order of the bins around a circle, unrelated to their order in the bands."""
    return sorted(range(BINS), key=lambda b: fmix64((b + 1) * C1 & M64))


CIRCLE = _circle()  # CIRCLE[p]: the bin at position p


def canonical(example: Example) -> str:
    """The canonical JSON of what an example trains on: equal strings mean exact duplicates."""
    def msgs(messages):
        return None if messages is None else [m.to_openai() for m in messages]

    body = [example.kind, msgs(example.messages), msgs(example.chosen), msgs(example.rejected),
            example.tools]
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _plain(example: Example) -> bool:
    """Whether every message is only a role and a text and the example has no replies or tools
    (such examples are hashed by :func:`plain_hash`; the rest by their canonical form)."""
    if example.chosen is not None or example.rejected is not None or example.tools is not None:
        return False
    return all(m.name is None and m.weight is None and m.tool_calls is None and m.tool_call_id is None
               for m in example.messages)


def plain_hash(kind: str, roles: list[str], texts: list[str | None]) -> int:
    """64 bits of a plain example (kind, then each message's role and text, ``None`` as ``""``).

    Each string is hashed by Python's own string hash (SipHash, 64 bits, in C: one call per
    string, no copy); the hashes are combined position by position with fixed 64-bit mixing.
    The string hash is seeded per process, so the values are only compared within one process
    (exact classes, mix de-duplication), never stored: which examples are equal does not depend
    on the seed (``tests/data/test_dedupe.py``). :func:`ftx.data.minhash_np.plain_hashes` is the
    same arithmetic for a whole chunk."""
    acc = 0
    for j, (role, text) in enumerate(zip(roles, texts)):
        r = fmix64((hash(role) + (j + 1) * C3) & M64)
        acc += fmix64((hash(text if text is not None else "") & M64) ^ r)
    return fmix64((acc + len(roles) * C1 + (hash(kind) & M64) * C2) & M64)


def exact_hash(example: Example) -> int:
    """64 bits of what an example trains on: equal for exact duplicates (and, but for a 2^-64
    chance, only for them). Plain examples (:func:`plain_hash`) and the others (BLAKE2b of
    :func:`canonical`) never compare equal, as their canonical forms never do. Values are for
    comparison within one process."""
    if _plain(example):
        messages = example.messages
        return plain_hash(example.kind, [m.role for m in messages], [m.content for m in messages])
    return hash64(canonical(example).encode()) & M64


def _parts(example: Example) -> list[tuple[str, str]]:
    turns = [m for m in example.messages if m.role != "system"]
    parts = [(m.role, m.content) for m in turns]
    parts += [("chosen", m.content) for m in example.chosen or ()]
    parts += [("rejected", m.content) for m in example.rejected or ()]
    if not any(text for _, text in parts):
        parts = [(m.role, m.content) for m in example.messages]
    return parts


def near_words(example: Example) -> list[str]:
    """The words of the example's normalized text (lowercase, no punctuation, single spaces)."""
    parts = [(role, text) for role, text in _parts(example) if text]
    if all(role in _PLAIN_ROLES for role, _ in parts):
        # Each role is one lowercase word and a space splits words: one pass over the whole text.
        text = " ".join([f"{role} {text}" for role, text in parts])
        if text.isascii():
            # The regex's words, found by one bytes.translate (lowercase, the rest spaces) and a
            # split: ~10x faster than the regex, and than str.lower + str.translate.
            return text.encode("ascii").translate(_ASCII_LOWER_SPACES).decode("ascii").split()
        text = text.lower()
        if text.isascii():  # e.g. the Kelvin sign lowercases to ASCII k
            return text.translate(_ASCII_SPACES).split()
        return (_WORD or _word_findall())(text)
    words: list[str] = []
    for role, text in parts:
        words.append(role)
        words.extend((_WORD or _word_findall())(text.lower()))
    return words


def normalized_text(example: Example) -> str:
    return " ".join(near_words(example))


def word_hash(word: str) -> int:
    """64-bit id of a word: its UTF-8 bytes in little-endian 8-byte blocks (the last zero-filled),
    each mixed into a state seeded by the length (``fmix64(state ^ block)``). Deterministic, and
    vectorised byte-wise by :func:`ftx.data.minhash_np.word_ids_of_bytes` (the same values)."""
    data = word.encode()
    h = (len(data) * C2) & M64
    for k in range(0, len(data), 8):
        h = fmix64(h ^ int.from_bytes(data[k:k + 8], "little"))
    return h


class _WordIds(dict):
    """:func:`word_hash` of each word, remembered (a text's words repeat across examples); bounded."""

    LIMIT = 1 << 20

    def __missing__(self, word: str) -> int:
        if len(self) >= self.LIMIT:
            self.clear()
        value = self[word] = word_hash(word)
        return value


_WORD_IDS = _WordIds()


def word_ids(words: list[str]) -> list[int]:
    """64-bit ids of words (:func:`word_hash`: deterministic, unlike ``hash`` of a str)."""
    return list(map(_WORD_IDS.__getitem__, words))


def text_hash(ids: list[int]) -> int:
    """Signed 64-bit hash of a normalized text given by its word ids (0 for no words, never 0
    otherwise): equal texts, equal hashes. Each word is mixed with its position and the results
    summed, so :func:`ftx.data.minhash_np.text_hashes` computes it for a chunk at once."""
    if not ids:
        return 0
    acc = 0
    for j, i in enumerate(ids):
        acc += fmix64((i + (j + 1) * C2) & M64)
    h = fmix64((acc & M64) ^ ((len(ids) * C3) & M64))
    return (h - (1 << 64) if h >> 63 else h) or 1


def _shingle(a: int, b: int, c: int) -> int:
    return fmix64((a * C1 + b * C2 + c * C3) & M64) >> 32


def shingle_hashes(words: list[str]) -> set[int]:
    """32-bit hashes of the word 3-shingles (one shingle of all words, padded, when fewer)."""
    return ids_shingles(word_ids(words))


def ids_shingles(ids: list[int]) -> set[int]:
    n = len(ids)
    if n == 0:
        return set()
    if n < SHINGLE:
        return {_shingle(ids[0], ids[1] if n > 1 else PAD, PAD)}
    return {_shingle(a, b, c) for a, b, c in zip(ids, ids[1:], ids[2:])}


def band_keys(ordered: list[int]) -> list[int]:
    """LSH keys of a non-empty shingle-hash list sorted ascending: one-permutation MinHash (a
    hash's top bits pick its bin, the smallest rest in each bin is the bin's value), densified,
    cut into ``BANDS`` bands of ``ROWS`` bins, each band hashed to a signed 64-bit key.

    Densification (rotation, Shrivastava & Li, ICML 2014): an empty bin borrows the value of the
    next filled bin around a fixed circle of the bins, tagged with the distance, so two examples
    agree on a bin with probability equal to their Jaccard similarity. The circle visits the bins
    in a scrambled order, so the bins of one band borrow from different donors."""
    sig = [-1] * BINS
    for h in ordered:  # ascending: the first hash seen in a bin is its minimum
        b = h >> BIN_SHIFT
        if sig[b] < 0:
            sig[b] = h & VALUE_MASK
    out = list(sig)
    around = [sig[b] for b in CIRCLE]
    if -1 in around:  # empty bins: each borrows from the nearest filled one ahead on the circle,
        # taken gap by gap between the filled positions (not searched for per bin)
        filled = [p for p, v in enumerate(around) if v >= 0]
        before = filled[-1] - BINS  # the last filled position, one lap back
        for f in filled:
            value = around[f]
            for p in range(before + 1, f):
                out[CIRCLE[p]] = value | ((f - p) << 32)  # p < 0: CIRCLE[p] is one lap back too
            before = f
    keys = []
    for start in range(0, BANDS * ROWS, ROWS):  # band b's key: b + its bins times ROW_MULT, mixed
        key = fmix64((start // ROWS + sum(map(mul, out[start:start + ROWS], ROW_MULT))) & M64)
        keys.append(key - (1 << 64) if key >> 63 else key)
    return keys


def fingerprint(words: list[str]) -> tuple[list[int], list[int], bool]:
    """(band keys, bottom-``SKETCH`` sketch, whether the sketch is the whole set) of one
    example's words; band keys are empty for an example without words."""
    return fingerprint_ids(word_ids(words))


def fingerprint_ids(ids: list[int]) -> tuple[list[int], list[int], bool]:
    """:func:`fingerprint` of words given by their :func:`word_ids`."""
    hashes = sorted(ids_shingles(ids))
    if not hashes:
        return [], [], True
    return band_keys(hashes), hashes[:SKETCH], len(hashes) <= SKETCH


def jaccard(a: array, a_full: bool, b: array, b_full: bool) -> float:
    """Jaccard of two shingle sets from their bottom-k sketches (exact when both are whole)."""
    sa, sb = set(a), set(b)
    if a_full and b_full:
        union = len(sa | sb)
        return len(sa & sb) / union if union else 1.0
    union = sorted(sa | sb)[:SKETCH]
    both = sum(1 for x in union if x in sa and x in sb)
    return both / len(union) if union else 1.0
