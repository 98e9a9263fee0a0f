""":func:`ftx.data.minhash.fingerprint` for thousands of examples per call, in numpy.

The same arithmetic over flat arrays: every shingle of a chunk hashed at once (uint64 arithmetic
wraps like the ``& M64`` of the pure-Python version), per-example sets by one sort, bins by the
first hash of each (example, bin) run, densification by gathering each empty bin's donors, band
keys by one multiply-and-sum per band. Identical results (``tests/data/test_minhash_np.py``);
measured on the shared 2-core machine, a whole index costs ~100 us of CPU per example with these
fingerprints against ~370 us with the pure-Python ones (``benchmarks/bench_dedupe.py``; the rest is
per-example Python: normalizing, exact hashes, word ids). Imported only by the duplicate index
once it holds enough examples to be worth numpy's import (:mod:`ftx.data.dedupe`).
"""

from __future__ import annotations

import numpy as np

from .minhash import BANDS, BIN_SHIFT, BINS, C1, C2, C3, CIRCLE, PAD, ROW_MULT, ROWS, SKETCH, VALUE_MASK

_U = np.uint64
_CIRCLE = np.array(CIRCLE, dtype=np.int64)
_ROW_MULT = np.array(ROW_MULT, dtype=_U)
_BAND = np.arange(BANDS, dtype=_U)
_EMPTY = np.iinfo(np.uint64).max


def _fmix64(x: np.ndarray) -> np.ndarray:
    x = x ^ (x >> _U(33))
    x = x * _U(0xFF51AFD7ED558CCD)
    x = x ^ (x >> _U(33))
    x = x * _U(0xC4CEB9FE1A85EC53)
    return x ^ (x >> _U(33))


def fingerprints(ids: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For examples whose word ids lie end to end in ``ids`` (uint64), ``counts[i]`` words each:
    (band keys int64 (n, BANDS), sketches uint32 end to end, sketch lengths, whole-set flags).
    Band keys of an example without words are 0 (callers mark those examples)."""
    with np.errstate(over="ignore"):
        return _fingerprints(ids.astype(_U, copy=False), counts.astype(np.int64, copy=False))


def _fingerprints(ids: np.ndarray, counts: np.ndarray):
    n = len(counts)
    total = int(counts.sum())
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    row = np.repeat(np.arange(n, dtype=np.int64), counts)
    local = np.arange(total, dtype=np.int64) - starts[row]
    cnt = counts[row]
    padded = np.concatenate([ids, np.array([PAD, PAD], dtype=_U)])
    pos = np.arange(total, dtype=np.int64)
    # One shingle starts at each position that leaves room for SHINGLE words, or at the first
    # position of an example shorter than that (its missing words padded).
    keep = local <= np.maximum(cnt - 3, 0)
    pos, row, local, cnt = pos[keep], row[keep], local[keep], cnt[keep]
    a = padded[pos]
    b = np.where(local + 1 < cnt, padded[pos + 1], _U(PAD))
    c = np.where(local + 2 < cnt, padded[pos + 2], _U(PAD))
    h = _fmix64(a * _U(C1) + b * _U(C2) + c * _U(C3)) >> _U(32)
    # Each example's set of hashes, ascending: sort (example, hash) pairs, drop repeats.
    pairs = np.sort((row.astype(_U) << _U(32)) | h)
    if len(pairs):
        pairs = pairs[np.concatenate([[True], pairs[1:] != pairs[:-1]])]
    urow = (pairs >> _U(32)).astype(np.int64)
    uh = pairs & _U(0xFFFFFFFF)
    sizes = np.bincount(urow, minlength=n)
    ustart = np.zeros(n, dtype=np.int64)
    np.cumsum(sizes[:-1], out=ustart[1:])
    rank = np.arange(len(uh), dtype=np.int64) - ustart[urow]
    in_sketch = rank < SKETCH
    sketches = uh[in_sketch].astype(np.uint32)
    sketch_lengths = np.minimum(sizes, SKETCH)
    whole = sizes <= SKETCH
    # One-permutation MinHash: the first (smallest) hash of each (example, bin) run.
    cell = urow * BINS + (uh >> _U(BIN_SHIFT)).astype(np.int64)
    first = np.concatenate([[True], cell[1:] != cell[:-1]]) if len(cell) else np.zeros(0, dtype=bool)
    sig = np.full(n * BINS, _EMPTY, dtype=_U)
    sig[cell[first]] = uh[first] & _U(VALUE_MASK)
    sig = sig.reshape(n, BINS)
    filled = sig != _EMPTY
    # Densification: each empty bin takes the next filled bin's value around the circle, tagged
    # with the distance (found for all bins at once by a running minimum over the circle twice).
    # Worked bins-major (one row per bin), so each step runs over all examples at once.
    around = np.ascontiguousarray(sig.T[_CIRCLE])  # (BINS, n): values in circle order
    present = np.ascontiguousarray(filled.T[_CIRCLE])
    position = np.where(np.concatenate([present, present]), np.arange(2 * BINS, dtype=np.int16)[:, None],
                        np.int16(2 * BINS - 1))
    nxt = np.minimum.accumulate(position[::-1], axis=0)[::-1][:BINS]
    donor = np.take_along_axis(np.concatenate([around, around]), nxt.astype(np.intp), axis=0)
    dist = (nxt - np.arange(BINS, dtype=np.int16)[:, None]).astype(_U)
    densified = np.where(present, around, donor | (dist << _U(32)))
    out = np.empty_like(sig)
    out[:, _CIRCLE] = densified.T
    acc = (out[:, :BANDS * ROWS].reshape(n, BANDS, ROWS) * _ROW_MULT).sum(axis=2, dtype=_U) + _BAND
    keys = _fmix64(acc).view(np.int64)
    keys[sizes == 0] = 0
    return keys, sketches, sketch_lengths, whole
