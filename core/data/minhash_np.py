""":mod:`ftx.data.minhash` for thousands of examples per call, in numpy.

The same arithmetic over flat arrays: word ids hashed from the bytes of a whole chunk's normalized
text (word boundaries by one comparison, each word's 8-byte blocks read through an unaligned view),
every shingle of a chunk hashed at once (uint64 arithmetic wraps like the ``& M64`` of the
pure-Python version), per-example sets by one sort, bins by the first hash of each (example, bin)
run, densification by one sweep around the circle of bins (each step over all examples at once),
band keys by one multiply-and-sum per band. Identical results (``tests/data/test_minhash_np.py``).
Imported only by the duplicate index once it holds enough examples to be worth numpy's import
(:mod:`ftx.data.dedupe`).
"""

from __future__ import annotations

import numpy as np

from .minhash import BANDS, BIN_SHIFT, BINS, C1, C2, C3, CIRCLE, PAD, ROW_MULT, ROWS, SKETCH, VALUE_MASK

_U = np.uint64
# For the bin at each circle position: its band (-1: in none) and its row's multiplier.
_BIN_BAND = [CIRCLE[p] // ROWS if CIRCLE[p] < BANDS * ROWS else -1 for p in range(BINS)]
_BIN_MULT = [_U(ROW_MULT[CIRCLE[p] % ROWS]) for p in range(BINS)]
_CIRCLE = np.array(CIRCLE, dtype=np.int64)
_BAND = np.arange(BANDS, dtype=_U)
_NONE = np.uint32(0xFFFFFFFF)
_STEP = _U(1 << 32)  # one step around the circle, in a borrowed value's tag
# _MASKS[k]: the low k bytes of a block (k = 8: all of it).
_PAD8 = b" " * 8
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [(1 << 64) - 1], dtype=_U)


def _fmix64_(x: np.ndarray, t: np.ndarray | None = None) -> np.ndarray:
    """:func:`ftx.data.minhash.fmix64` of every element, in place (``t``: a scratch array of
    the same size, else one is made)."""
    t = np.right_shift(x, _U(33), out=t)
    x ^= t
    x *= _U(0xFF51AFD7ED558CCD)
    np.right_shift(x, _U(33), out=t)
    x ^= t
    x *= _U(0xC4CEB9FE1A85EC53)
    np.right_shift(x, _U(33), out=t)
    x ^= t
    return x


def _changes(x: np.ndarray) -> np.ndarray:
    """Whether each element differs from the one before it (the first always does)."""
    out = np.empty(len(x), dtype=bool)
    if len(x):
        out[0] = True
        np.not_equal(x[1:], x[:-1], out=out[1:])
    return out


def _segment_sums(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Wrapping uint64 sums of consecutive runs of ``counts[i]`` values (0 for an empty run)."""
    cs = np.zeros(len(values) + 1, dtype=_U)
    np.cumsum(values, out=cs[1:])
    ends = np.cumsum(counts)
    return cs[ends] - cs[ends - counts]


class Workspace:
    """Arrays kept from one chunk to the next and reused: memory fresh from the system costs a
    page fault per 4 KB (about a fifth of the CPU of a chunk's numpy work when every temporary is
    new). Holds the largest temporaries of one chunk (~15 MB for 4,096 chat examples)."""

    def __init__(self) -> None:
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, n: int, dtype) -> np.ndarray:
        """An uninitialised array of ``n`` elements, the same memory each time ``name`` is asked for."""
        a = self._arrays.get(name)
        if a is None or a.dtype != dtype or len(a) < n:
            a = self._arrays[name] = np.empty(n + n // 4, dtype=dtype)
        return a[:n]


def word_ids_of_bytes(text: bytes, work: Workspace | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(:func:`ftx.data.minhash.word_hash` of each word, byte offset of each word) for ``text``
    whose words are separated by ASCII spaces (UTF-8 never uses that byte inside a character).
    With ``work``, both results live in its memory (valid until its next such call)."""
    with np.errstate(over="ignore"):
        return _word_ids(text, work or Workspace())


def _word_ids(text: bytes, work: Workspace):
    data = np.frombuffer(text, dtype=np.uint8)
    word = work.get("word", len(data) + 2, bool)
    word[0] = word[-1] = False
    np.not_equal(data, 32, out=word[1:-1])
    change = np.not_equal(word[1:], word[:-1], out=work.get("change", len(data) + 1, bool))
    edges = np.flatnonzero(change)  # (faster than np.compress into reused memory)
    starts, ends = edges[0::2], edges[1::2]
    lengths = np.subtract(ends, starts, out=work.get("lengths", len(starts), np.int64))
    padded = text if text.endswith(_PAD8) else text + _PAD8  # every 8-byte read stays inside
    blocks = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))
    h = np.take(blocks, starts, out=work.get("h", len(starts), _U), mode="clip")
    tmp = work.get("tmp", len(starts), _U)
    np.take(_MASKS, np.minimum(lengths, 8, out=work.get("clip", len(starts), np.int64)), out=tmp, mode="clip")
    h &= tmp
    np.copyto(tmp, lengths, casting="unsafe")
    tmp *= _U(C2)
    h ^= tmp
    _fmix64_(h, tmp)
    at = 8
    longer = np.flatnonzero(lengths > at)
    while len(longer):  # the next block of each word longer than ``at`` bytes
        left = lengths[longer] - at
        h[longer] = _fmix64_(h[longer] ^ (blocks[starts[longer] + at] & _MASKS[np.minimum(left, 8)]))
        at += 8
        longer = longer[left > 8]
    return h, starts


def text_hashes(ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """:func:`ftx.data.minhash.text_hash` of each example's words (ids end to end, ``counts[i]``
    each), int64."""
    with np.errstate(over="ignore"):
        counts = counts.astype(np.int64, copy=False)
        starts = np.cumsum(counts) - counts
        local = np.arange(1, len(ids) + 1, dtype=_U)  # each word's position in its example, from 1
        local -= np.repeat(starts.astype(_U), counts)
        local *= _U(C2)
        local += ids
        mixed = _fmix64_(local)
        h = _fmix64_(_segment_sums(mixed, counts) ^ (counts.astype(_U) * _U(C3))).view(np.int64)
        h[h == 0] = 1
        h[counts == 0] = 0
        return h


def plain_hashes(kinds: np.ndarray, roles: np.ndarray, texts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """:func:`ftx.data.minhash.plain_hash` of each example, given the Python string hashes of
    the kinds (one per example) and of every message's role and text (end to end, ``counts[i]``
    messages each), uint64."""
    with np.errstate(over="ignore"):
        counts = counts.astype(np.int64, copy=False)
        starts = np.cumsum(counts) - counts
        local = np.arange(len(roles), dtype=np.int64) - np.repeat(starts, counts)
        r = _fmix64_(roles.view(_U) + (local + 1).astype(_U) * _U(C3))
        acc = _segment_sums(_fmix64_(texts.view(_U) ^ r), counts)
        return _fmix64_(acc + counts.astype(_U) * _U(C1) + kinds.view(_U) * _U(C2))


def fingerprints(ids: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For examples whose word ids lie end to end in ``ids`` (uint64), ``counts[i]`` words each:
    (band keys int64 (n, BANDS), sketches uint32 end to end, sketch lengths, whole-set flags).
    Band keys of an example without words are 0 (callers mark those examples)."""
    with np.errstate(over="ignore"):
        return _fingerprints(ids.astype(_U, copy=False), counts.astype(np.int64, copy=False))


def _fingerprints(ids: np.ndarray, counts: np.ndarray):
    n = len(counts)
    ends = np.cumsum(counts)
    starts = ends - counts
    padded = np.concatenate([ids, np.array([PAD, PAD], dtype=_U)])
    # A shingle starts at each position that leaves room for SHINGLE words, or at the first
    # position of an example shorter than that (its missing words padded).
    h = padded[:-2] * _U(C1)
    h += padded[1:-1] * _U(C2)
    h += padded[2:] * _U(C3)
    keep = np.ones(len(ids), dtype=bool)
    full = counts >= 3
    keep[ends[full] - 1] = False
    keep[ends[full] - 2] = False
    short = np.flatnonzero((counts == 1) | (counts == 2))
    if len(short):
        first = starts[short]
        second = np.where(counts[short] == 2, padded[first + 1], _U(PAD))
        h[first] = padded[first] * _U(C1) + second * _U(C2) + _U(PAD) * _U(C3)
        keep[first[counts[short] == 2] + 1] = False
    # Each example's set of hashes, ascending: sort (example, hash) pairs, drop repeats.
    pairs = _fmix64_(h[keep])
    pairs >>= _U(32)
    pairs |= np.repeat(np.arange(n, dtype=_U) << _U(32), np.where(full, counts - 2, np.minimum(counts, 1)))
    pairs.sort()
    pairs = pairs[_changes(pairs)]
    bounds = np.searchsorted(pairs, np.arange(n + 1, dtype=_U) << _U(32))
    sizes = np.diff(bounds)
    sketch_lengths = np.minimum(sizes, SKETCH)
    whole = sizes <= SKETCH
    if whole.all():
        sketches = pairs.astype(np.uint32)  # the low 32 bits: the hashes
    else:
        rank = np.arange(len(pairs), dtype=np.int64) - np.repeat(bounds[:-1], sizes)
        sketches = pairs[rank < SKETCH].astype(np.uint32)
    # One-permutation MinHash: the first (smallest) hash of each (example, bin) run (pair >> 25
    # is example * BINS + bin), then laid out bins-major in circle order (row p: the bin at
    # circle position p, for every example).
    cell = (pairs >> _U(BIN_SHIFT)).astype(np.int64)
    first = np.flatnonzero(_changes(cell))
    sig = np.full(n * BINS, _NONE, dtype=np.uint32)  # values are under 2^25: _NONE marks an empty bin
    sig[cell[first]] = pairs[first] & _U(VALUE_MASK)
    around = np.ascontiguousarray(sig.reshape(n, BINS).T[_CIRCLE])
    present = around != _NONE
    # Densification: an empty bin takes the next filled bin's value around the circle, tagged
    # with the distance (value + distance * 2^32, the same as value | distance << 32): one sweep
    # backwards around the circle from the first filled bin, carrying the latest filled value
    # one step further each time. Each bin's final value goes straight into its band's key.
    start = np.argmax(present, axis=0)  # the first filled position (0 for an empty example)
    carry = around[start, np.arange(n)].astype(_U) + start.astype(_U) * _STEP
    acc = np.repeat(_BAND[:, None], n, axis=1)
    band_rows = list(acc)
    wide = around.astype(_U)  # (putmask from uint64 is faster than from uint32)
    step = np.empty(n, dtype=_U)
    for q in range(BINS - 1, -1, -1):
        carry += _STEP
        np.putmask(carry, present[q], wide[q])
        band = _BIN_BAND[q]
        if band >= 0:
            np.multiply(carry, _BIN_MULT[q], out=step)
            band_rows[band] += step
    keys = _fmix64_(acc).view(np.int64)
    keys[:, sizes == 0] = 0
    return keys.T, sketches, sketch_lengths, whole
