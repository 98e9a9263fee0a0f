"""Exact and near-duplicate examples, and train/validation leakage.

Exact duplicates share the hash of a canonical form of the example (its kind, messages,
preference replies and tools; ``meta`` such as ids is left out, since it is not trained on).

Near duplicates are found on the example's *normalized text*: the non-system turns (a system
prompt shared by every example would otherwise make everything look alike), lowercased, with
punctuation stripped and whitespace collapsed. Two examples are near duplicates when their
normalized texts are equal, or when the Jaccard similarity of their word 3-shingle sets is at
least ``threshold`` (0.8). Candidates come from MinHash + LSH: one-permutation MinHash with
optimal densification (Shrivastava 2017), 128 bins of which 126 form 21 bands of 6, so a pair at
Jaccard 0.8 becomes a candidate with probability 0.998, at 0.5 with 0.28 and at 0.3 with 0.015. Every candidate is
verified on a bottom-128 sketch of its shingle hashes, which is the whole set (so the Jaccard is
exact) for examples of up to 128 distinct shingles, and a bottom-k estimate for longer ones
(standard error ~0.035 at 0.8). Groups are the connected components of the verified pairs.

Everything is deterministic (CRC-32 and fixed 64-bit mixing, no random seeds) and streaming.
Fingerprints are computed per chunk of ``CHUNK`` examples with numpy (:mod:`ftx.data.minhash_np`)
when numpy is installed and the index is large enough to repay its import; in pure Python
otherwise, with identical results (a whole index: ~100 vs ~370 us of CPU per example on the shared
2-core machine). Why not ``datasketch``: it hashes each shingle in Python and permutes per example,
and its LSH keeps Python dicts and sets per band: on the same data it took ~290 us per example,
5.6x the memory, and found 334 of 381 planted near copies where this index found 380
(``benchmarks/bench_dedupe.py``, docs/benchmarks.md).

Memory: each example the near-duplicate check covers keeps ~0.2 KB plus 4 bytes per distinct
shingle up to 128 (~0.5 KB for ~100-word examples); the exact check keeps ~0.13 KB per example.
The near-duplicate index stops growing at ``FTX_DEDUPE_MAX_MB`` megabytes (default 1024): later
examples are still checked for exact copies, and the report says how many the near check covered
(``near_checked``, ``near_limited``) rather than dropping them silently. LSH buckets that gather
more than ``_FULL_RUN`` examples (templated data) are verified against a few representatives
only, so near duplicates found there are a lower bound.
"""

from __future__ import annotations

import hashlib
import os
import sys
from array import array
from typing import Iterable, Iterator

from ..example import Example
from .dedupe_report import (DuplicateGroup, DuplicateReport, Leak, OverlapReport,  # noqa: F401
                            max_index_bytes)
from .minhash import (BANDS, SKETCH, THRESHOLD, band_keys, canonical, exact_hash, fingerprint_ids,  # noqa: F401
                      jaccard, near_words, normalized_text, shingle_hashes, word_ids)

_FULL_RUN = 48  # LSH buckets up to this size are verified pairwise
_REPS = 8  # larger buckets: each member is checked against this many representatives
_MATCHES = 3  # training lines named per leaked validation example
CHUNK = 4096  # examples fingerprinted per numpy call
_NUMPY_FROM = 512  # a smaller index is fingerprinted in pure Python (numpy's import costs more)
_EXACT_BYTES = 130  # per example: class, side, source arrays and the first-of-hash dict entry
_NEAR_BYTES = 190  # per near-indexed example: band keys, text hash, offsets (sketch extra)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = array("q", range(n))

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]  # path halving
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the earliest example stays the root


class DedupeIndex:
    """Streaming index of examples: :meth:`add` each one, then :meth:`report` or :meth:`leaks`.

    Only the first of each exact-duplicate class ("unique" example) enters the near-duplicate
    index; its copies follow it through the exact class. Storage is flat arrays, so an example
    costs a few hundred bytes whatever its length. Unique examples are numbered in order; the
    near-duplicate index holds the first ``near_count`` of them (all, unless the memory bound of
    :func:`max_index_bytes` was reached). Their fingerprints are computed a chunk at a time.
    """

    def __init__(self, threshold: float = THRESHOLD):
        self.threshold = threshold
        self._files: dict[str, int] = {}  # file name -> index into _names
        self._names: list[str] = []
        self._file_of = array("l")  # example id -> index into _files (-1: a label)
        self._line_of = array("q")  # example id -> line
        self._labels: dict[int, str] = {}  # example id -> name, when not file:line
        self._side = bytearray()  # example id -> 0 (train) / 1 (validation)
        self._class = array("q")  # example id -> id of the first example with the same hash
        self._first: dict[int, int] = {}  # exact hash -> first example id
        self._unique = array("q")  # unique number -> example id
        self._normh = array("q")  # near number (= unique number) -> hash of the normalized text (0: none)
        self._bands = [array("q") for _ in range(BANDS)]
        self._has_bands = bytearray()
        self._sketches = array("I")  # bottom-k sketches, end to end
        self._sketch_end = array("q")
        self._full = bytearray()
        self._pending_ids = array("Q")  # word ids of examples not fingerprinted yet, end to end
        self._pending_counts = array("q")
        self._max_bytes = max_index_bytes()
        self._bytes = 0
        self._near_limited = False

    def __len__(self) -> int:
        return len(self._class)

    @property
    def near_count(self) -> int:
        """Unique examples in the near-duplicate index (a prefix of the unique numbers)."""
        return len(self._normh)

    def where(self, eid: int) -> str:
        """How reports name example ``eid``: file:line, or its label."""
        f = self._file_of[eid]
        if f < 0:
            return self._labels[eid]
        return f"{self._names[f]}:{self._line_of[eid]}"

    def add(self, example: Example, where: str | None = None, side: int = 0) -> int:
        """Index one example; ``where`` names it in reports (default: its source, else #N)."""
        eid = len(self._class)
        if where is None and example.source is not None:
            if example.source.file not in self._files:
                self._files[example.source.file] = len(self._names)
                self._names.append(example.source.file)
            self._file_of.append(self._files[example.source.file])
            self._line_of.append(example.source.line)
        else:
            self._file_of.append(-1)
            self._line_of.append(0)
            self._labels[eid] = where or f"example {eid + 1}"
        self._side.append(side)
        first = self._first.setdefault(exact_hash(example), eid)
        self._class.append(first)
        self._bytes += _EXACT_BYTES
        if first != eid:
            return eid
        self._unique.append(eid)
        if self._near_limited:
            return eid
        words = near_words(example)
        self._bytes += _NEAR_BYTES + 4 * min(len(words), SKETCH)
        if self._bytes > self._max_bytes:
            # The bound is reached: this and later examples get the exact check only, and the
            # reports say so (the near-indexed examples stay a prefix of the unique numbers).
            self._near_limited = True
            return eid
        norm = " ".join(words).encode()
        self._normh.append(int.from_bytes(hashlib.blake2b(norm, digest_size=8).digest(), "little",
                                          signed=True) or 1 if norm else 0)
        self._pending_ids.extend(word_ids(words))
        self._pending_counts.append(len(words))
        if len(self._pending_counts) >= CHUNK:
            self._flush()
        return eid

    def _flush(self) -> None:
        """Fingerprint the examples added since the last flush."""
        counts = self._pending_counts
        if not counts:
            return
        uid0 = len(self._has_bands)
        if _use_numpy(len(counts) + uid0):
            import numpy as np

            from .minhash_np import fingerprints

            n_counts = np.frombuffer(counts, dtype=np.int64)
            keys, sketches, lengths, whole = fingerprints(np.frombuffer(self._pending_ids, dtype=np.uint64),
                                                          n_counts)
            has = n_counts > 0
            # An example without words gets keys of its own; _runs drops it should one collide.
            keys[~has] = -(np.arange(uid0, uid0 + len(counts))[~has, None] + 1)
            for band, column in zip(self._bands, keys.T):
                band.frombytes(np.ascontiguousarray(column).tobytes())
            self._has_bands.extend(has.astype(np.uint8).tobytes())
            self._sketches.frombytes(sketches.astype(np.uint32).tobytes())
            end = self._sketch_end[-1] if self._sketch_end else 0
            self._sketch_end.frombytes((np.cumsum(lengths) + end).astype(np.int64).tobytes())
            self._full.extend(whole.astype(np.uint8).tobytes())
        else:
            ids = self._pending_ids
            at = 0
            for i, n in enumerate(counts):
                keys, sketch, whole = fingerprint_ids(ids[at:at + n].tolist())
                at += n
                keys = keys or [-(uid0 + i + 1)] * BANDS
                for band, key in zip(self._bands, keys):
                    band.append(key)
                self._has_bands.append(1 if n else 0)
                self._sketches.extend(sketch)
                self._sketch_end.append(len(self._sketches))
                self._full.append(1 if whole else 0)
        self._pending_ids = array("Q")
        self._pending_counts = array("q")

    # -- verification ----------------------------------------------------------------------

    def _sketch(self, u: int) -> array:
        return self._sketches[self._sketch_end[u - 1] if u else 0:self._sketch_end[u]]

    def similarity(self, u: int, v: int) -> float:
        """Jaccard similarity of two unique examples' shingle sets (1.0 if their texts match)."""
        h = self._normh[u]
        if h and h == self._normh[v]:
            return 1.0
        return jaccard(self._sketch(u), bool(self._full[u]), self._sketch(v), bool(self._full[v]))

    def _same_text(self) -> Iterator[list[int]]:
        """Runs of unique numbers whose normalized texts are equal (size >= 2)."""
        self._flush()
        return _equal_runs(self._normh, self.near_count, self._normh)

    def _runs(self) -> list[list[int]]:
        """Lists of unique numbers that share an LSH bucket in some band (size >= 2); kept until
        the index grows, since a command asks for them several times (each set's duplicates, the
        leak check)."""
        self._flush()
        cached = getattr(self, "_runs_cache", None)
        if cached is None or cached[0] != self.near_count:
            runs = [run for band in self._bands for run in _equal_runs(band, self.near_count, self._has_bands)]
            self._runs_cache = cached = (self.near_count, runs)
        return cached[1]

    def _near_pairs(self, uf: _UnionFind, allowed: set[int] | None = None) -> None:
        """Union every verified near-duplicate pair of unique examples (of ``allowed`` ones)."""
        def runs(found: Iterator[list[int]]) -> Iterator[list[int]]:
            for run in found:
                if allowed is not None:
                    run = [u for u in run if u in allowed]
                if len(run) >= 2:
                    yield run

        for run in runs(self._same_text()):
            for u in run[1:]:
                uf.union(run[0], u)
        rejected: set[tuple[int, int]] = set()
        for run in runs(self._runs()):
            if len(run) <= _FULL_RUN:
                for i, u in enumerate(run):
                    for v in run[i + 1:]:
                        self._try(uf, u, v, rejected)
                continue
            reps: list[int] = []
            for u in run:
                if any(uf.find(r) == uf.find(u) for r in reps):
                    continue
                if not any(self._try(uf, r, u, rejected) for r in reps) and len(reps) < _REPS:
                    reps.append(u)

    def _try(self, uf: _UnionFind, u: int, v: int, rejected: set) -> bool:
        if uf.find(u) == uf.find(v):
            return True
        if (u, v) in rejected:
            return False
        if self.similarity(u, v) >= self.threshold:
            uf.union(u, v)
            return True
        rejected.add((u, v))
        return False

    # -- results ---------------------------------------------------------------------------

    def report(self, side: int | None = None) -> DuplicateReport:
        """Exact and near-duplicate groups over everything added, or over the examples added
        with ``side`` only (the validation set's own duplicates, from the index that also holds
        the training set for the leak check)."""
        eids = range(len(self._class)) if side is None else [e for e in range(len(self._class))
                                                              if self._side[e] == side]
        n = len(eids)
        exact: dict[int, list[int]] = {}  # class (first example id, of any side) -> its examples here
        for eid in eids:
            exact.setdefault(self._class[eid], []).append(eid)
        uid_of = {eid: uid for uid, eid in enumerate(self._unique)}
        present = [uid_of[first] for first in exact]  # unique numbers of the classes here
        uf = _UnionFind(len(self._unique))
        self._near_pairs(uf, None if side is None else set(present))
        components: dict[int, list[int]] = {}
        for uid in sorted(present):
            components.setdefault(uf.find(uid), []).append(uid)
        report = DuplicateReport(examples=n, near_limited=self._near_limited)
        report.near_checked = sum(len(exact[self._unique[u]]) for u in present if u < self.near_count)
        report.exact_duplicates = n - len(present)
        report.near_duplicates = len(present) - len(components)
        report.exact_groups = [DuplicateGroup("exact", [self.where(e) for e in ids])
                               for ids in exact.values() if len(ids) > 1]
        for uids in components.values():
            if len(uids) > 1:
                ids = sorted(e for u in uids for e in exact[self._unique[u]])
                report.near_groups.append(DuplicateGroup("near", [self.where(e) for e in ids]))
        return report

    def leaks(self) -> OverlapReport:
        """Validation examples (side 1) that copy a training example (side 0)."""
        sides = self._side
        found: dict[int, tuple[str, list[str], float]] = {}  # class (first example id) -> leak
        train_copies: dict[int, list[str]] = {}  # class -> its first training lines
        for eid in range(len(self._class)):
            first = self._class[eid]
            if sides[eid] == 0:
                copies = train_copies.setdefault(first, [])
                if len(copies) < _MATCHES:
                    copies.append(self.where(eid))
            elif sides[first] == 0:
                found[first] = ("exact", train_copies[first], 1.0)
        near: dict[int, list[tuple[float, int]]] = {}
        for run in self._same_text():
            train = [u for u in run if sides[self._unique[u]] == 0][:_MATCHES]
            for u in run:
                if train and sides[self._unique[u]] == 1:
                    near[u] = [(1.0, t) for t in train]
        for run in self._runs():
            train = [u for u in run if sides[self._unique[u]] == 0][:_FULL_RUN]
            for v in (u for u in run if sides[self._unique[u]] == 1):
                if not train or len(near.get(v, ())) >= _MATCHES:
                    continue
                for t in train:
                    if any(t == m for _, m in near.get(v, ())):
                        continue
                    sim = self.similarity(t, v)
                    if sim >= self.threshold:
                        near.setdefault(v, []).append((sim, t))
        for u, matches in near.items():
            eid = self._unique[u]
            if eid not in found:
                matches.sort(key=lambda m: (-m[0], m[1]))
                found[eid] = ("near", [self.where(self._unique[t]) for _, t in matches[:_MATCHES]],
                              matches[0][0])
        report = OverlapReport(validation_examples=sum(1 for s in sides if s == 1), near_limited=self._near_limited)
        indexed = set(self._unique[:self.near_count]) if self._near_limited else None
        report.near_checked = sum(1 for eid in range(len(self._class)) if sides[eid] == 1
                                  and (indexed is None or self._class[eid] in indexed))
        for eid in range(len(self._class)):
            leak = found.get(self._class[eid]) if sides[eid] == 1 else None
            if leak is not None:
                report.leaks.append(Leak(self.where(eid), leak[0], leak[1], leak[2]))
        return report


def _use_numpy(size: int) -> bool:
    """Numpy for an index of ``size`` examples: when installed, and the index is large enough to
    repay its import (or it is imported already). ``FTX_DEDUPE_NUMPY=0`` forces pure Python."""
    if os.environ.get("FTX_DEDUPE_NUMPY") == "0":
        return False
    if size < _NUMPY_FROM and "numpy" not in sys.modules:
        return False
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def _equal_runs(keys: array, n: int, keep) -> Iterator[list[int]]:
    """Sorted lists (size >= 2) of the positions in ``keys[:n]`` that hold equal keys, keeping
    positions whose ``keep`` entry is true."""
    if n >= _NUMPY_FROM and _use_numpy(n):
        yield from _equal_runs_numpy(keys, n, keep)
        return
    order = sorted(range(n), key=keys.__getitem__)
    start = 0
    for i in range(1, n + 1):
        if i == n or keys[order[i]] != keys[order[start]]:
            if i - start >= 2:
                run = sorted(u for u in order[start:i] if keep[u])
                if len(run) >= 2:
                    yield run
            start = i


def _equal_runs_numpy(keys: array, n: int, keep) -> Iterator[list[int]]:
    import numpy as np

    values = np.frombuffer(keys, dtype=np.int64)[:n]
    kept = np.frombuffer(keep, dtype=np.int64 if isinstance(keep, array) else np.uint8)[:n] != 0
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    change = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [n]])
    for s, e in zip(starts[ends - starts >= 2].tolist(), ends[ends - starts >= 2].tolist()):
        members = order[s:e]
        run = np.sort(members[kept[members]]).tolist()
        if len(run) >= 2:
            yield run


def find_duplicates(examples: Iterable[Example], threshold: float = THRESHOLD) -> DuplicateReport:
    """Exact and near-duplicate groups in ``examples`` (one streaming pass)."""
    index = DedupeIndex(threshold)
    for example in examples:
        index.add(example)
    return index.report()


def overlap(train: Iterable[Example], validation: Iterable[Example],
            threshold: float = THRESHOLD, index: DedupeIndex | None = None) -> OverlapReport:
    """Leakage: validation examples that exactly or nearly duplicate a training example.

    ``index``: a :class:`DedupeIndex` that already holds exactly the training examples (the one
    the training set's statistics filled); ``train`` is then not indexed again."""
    if index is None:
        index = DedupeIndex(threshold)
        for example in train:
            index.add(example, side=0)
    for example in validation:
        index.add(example, side=1)
    return index.leaks()
