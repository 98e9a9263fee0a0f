"""Exact and near-duplicate examples, and train/validation leakage.

Exact duplicates share the hash of a canonical form of the example (its kind, messages,
preference replies and tools; ``meta`` such as ids is left out, since it is not trained on).

Near duplicates are found on the example's *normalized text*: the non-system turns (a system
prompt shared by every example would otherwise make everything look alike), lowercased, with
punctuation stripped and whitespace collapsed. Two examples are near duplicates when their
normalized texts are equal, or when the Jaccard similarity of their word 3-shingle sets is at
least ``threshold`` (0.8). Candidates come from MinHash + LSH (one-permutation MinHash with
rotation densification, 128 bins in 16 bands of 8: a pair at Jaccard 0.8 becomes a candidate
with probability >= 0.95, at 0.5 with ~0.07 for long texts; short texts, whose bins are mostly
borrowed, collide more often, which costs verification time, not accuracy). Every candidate is
verified on a bottom-128 sketch of its shingle hashes, which is the whole set (so the Jaccard is
exact) for examples of up to 128 distinct shingles, and a bottom-k estimate for longer ones (standard
error ~0.035 at 0.8). Groups are the connected components of the verified pairs.

Everything is deterministic (CRC-32 and integer-tuple hashes, no random seeds), pure Python and
streaming: each example leaves under 1 KB behind whatever its length (measured: 0.77 KB for
~140-word examples, 1.1 KB peak while grouping). Measured speed: 100,000 examples of ~140 words
in ~23 s of CPU on a busy 2-core machine (~230 us each: normalizing, hashing, MinHash). LSH
buckets that gather more than ``_FULL_RUN`` examples (templated data) are verified against a few
representatives only, so near duplicates found there are a lower bound.
"""

from __future__ import annotations

import hashlib
from array import array
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from ..example import Example
from .minhash import (BANDS, SKETCH, THRESHOLD, band_keys, canonical, exact_hash, jaccard, near_words,  # noqa: F401
                      normalized_text, shingle_hashes)

_FULL_RUN = 48  # LSH buckets up to this size are verified pairwise
_REPS = 8  # larger buckets: each member is checked against this many representatives
_MATCHES = 3  # training lines named per leaked validation example


@dataclass
class DuplicateGroup:
    """Examples that are copies of each other: ``lines`` name them (file:line)."""

    kind: str  # "exact" or "near"
    lines: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "lines": self.lines}


@dataclass
class DuplicateReport:
    examples: int = 0
    exact_groups: list[DuplicateGroup] = field(default_factory=list)
    near_groups: list[DuplicateGroup] = field(default_factory=list)
    exact_duplicates: int = 0  # examples that exactly copy an earlier one
    near_duplicates: int = 0  # examples that nearly copy an earlier one (and are not exact copies)

    @property
    def share(self) -> float:
        """Fraction of examples that are redundant copies (exact or near)."""
        return (self.exact_duplicates + self.near_duplicates) / self.examples if self.examples else 0.0

    def to_dict(self, max_groups: int = 100) -> dict[str, Any]:
        return {
            "exact_duplicates": self.exact_duplicates, "near_duplicates": self.near_duplicates,
            "share": round(self.share, 4),
            "exact_groups": [g.to_dict() for g in self.exact_groups[:max_groups]],
            "near_groups": [g.to_dict() for g in self.near_groups[:max_groups]],
            "groups_truncated": max(len(self.exact_groups), len(self.near_groups)) > max_groups,
        }


@dataclass
class Leak:
    """A validation example that copies training data."""

    line: str
    kind: str  # "exact" or "near"
    train_lines: list[str]
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "kind": self.kind, "train_lines": self.train_lines,
                "similarity": round(self.similarity, 3)}


@dataclass
class OverlapReport:
    """Validation examples that exactly or nearly duplicate a training example."""

    validation_examples: int = 0
    leaks: list[Leak] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.leaks)

    def __bool__(self) -> bool:
        return bool(self.leaks)

    @property
    def lines(self) -> list[str]:
        return [leak.line for leak in self.leaks]

    def to_dict(self) -> dict[str, Any]:
        return {"validation_examples": self.validation_examples, "leaked": len(self.leaks),
                "leaks": [leak.to_dict() for leak in self.leaks]}


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
    costs a few hundred bytes whatever its length.
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
        self._normh = array("q")  # unique number -> hash of the normalized text (0: none)
        self._bands = [array("q") for _ in range(BANDS)]
        self._has_bands = bytearray()
        self._sketches = array("I")  # bottom-k sketches, end to end
        self._sketch_end = array("q")
        self._full = bytearray()

    def __len__(self) -> int:
        return len(self._class)

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
        if first != eid:
            return eid
        uid = len(self._unique)
        self._unique.append(eid)
        words = near_words(example)
        norm = " ".join(words).encode()
        self._normh.append(int.from_bytes(hashlib.blake2b(norm, digest_size=8).digest(), "little",
                                          signed=True) or 1 if norm else 0)
        hashes = sorted(shingle_hashes(words))
        # An example without words gets keys of its own; _runs drops it should one collide.
        keys = band_keys(hashes) if hashes else [-(uid + 1)] * BANDS
        for band, key in zip(self._bands, keys):
            band.append(key)
        self._has_bands.append(1 if hashes else 0)
        self._sketches.extend(hashes[:SKETCH])
        self._sketch_end.append(len(self._sketches))
        self._full.append(1 if len(hashes) <= SKETCH else 0)
        return eid

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
        return _equal_runs(self._normh, len(self._unique), self._normh.__getitem__)

    def _runs(self) -> Iterator[list[int]]:
        """Lists of unique numbers that share an LSH bucket in some band (size >= 2)."""
        for band in self._bands:
            yield from _equal_runs(band, len(self._unique), self._has_bands.__getitem__)

    def _near_pairs(self, uf: _UnionFind) -> None:
        """Union every verified near-duplicate pair of unique examples."""
        for run in self._same_text():
            for u in run[1:]:
                uf.union(run[0], u)
        rejected: set[tuple[int, int]] = set()
        for run in self._runs():
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

    def report(self) -> DuplicateReport:
        """Exact and near-duplicate groups over everything added."""
        n = len(self._class)
        exact: dict[int, list[int]] = {}
        for eid in range(n):
            exact.setdefault(self._class[eid], []).append(eid)
        uf = _UnionFind(len(self._unique))
        self._near_pairs(uf)
        components: dict[int, list[int]] = {}
        for uid in range(len(self._unique)):
            components.setdefault(uf.find(uid), []).append(uid)
        report = DuplicateReport(examples=n)
        report.exact_duplicates = n - len(self._unique)
        report.near_duplicates = len(self._unique) - len(components)
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
        report = OverlapReport(validation_examples=sum(1 for s in sides if s == 1))
        for eid in range(len(self._class)):
            leak = found.get(self._class[eid]) if sides[eid] == 1 else None
            if leak is not None:
                report.leaks.append(Leak(self.where(eid), leak[0], leak[1], leak[2]))
        return report


def _equal_runs(keys: array, n: int, keep) -> Iterator[list[int]]:
    """Sorted lists (size >= 2) of the positions in ``keys[:n]`` that hold equal keys."""
    order = sorted(range(n), key=keys.__getitem__)
    start = 0
    for i in range(1, n + 1):
        if i == n or keys[order[i]] != keys[order[start]]:
            if i - start >= 2:
                run = sorted(u for u in order[start:i] if keep(u))
                if len(run) >= 2:
                    yield run
            start = i


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
