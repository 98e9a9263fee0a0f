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

Fingerprints are deterministic (64-bit word hashes of the UTF-8 bytes and fixed 64-bit mixing,
no random seeds). Exact hashes build on Python's string hash, which is seeded per process: they
are only compared within one process, so which examples are exact copies never depends on the seed.

The index works a chunk at a time: :meth:`DedupeIndex.add` only queues the example; every
``CHUNK`` examples (and before any result) the queue is indexed at once. With numpy installed and
an index of at least 512 examples (``dedupe_runs._NUMPY_FROM``), the chunk is turned into flat arrays by
:mod:`ftx.data.dedupe_batch` (exact hashes, normalized words by one ``bytes.translate`` over the
chunk's joined text, word ids hashed byte-wise) and fingerprinted by :mod:`ftx.data.minhash_np`;
otherwise each example goes through the pure-Python twin in :mod:`ftx.data.minhash`. Both give
identical hashes, words, fingerprints and so reports (``tests/data/test_dedupe_batch.py``,
``tests/data/test_minhash_np.py``). Reports tally exact classes in numpy and group only the LSH
keys that repeat. Measured on the shared 2-core machine: add + both sets' reports + the leak check
over 102,000 generated chat examples (2% planted copies) take ~0.9 s of CPU, ~4x less than
indexing one example per call did in the same run (``benchmarks/bench_dedupe.py``,
docs/benchmarks.md). Why not ``datasketch``: it hashes
each shingle in Python and permutes per example, and its LSH keeps Python dicts and sets per band:
on the same data it took ~5x the CPU and 5.6x the memory, and found fewer planted near copies
(334 of 381 where this index found 381).

Memory: each example the near-duplicate check covers keeps ~0.2 KB plus 4 bytes per distinct
shingle up to 128 (~0.5 KB for ~100-word examples); the exact check keeps ~0.13 KB per example
(and the contradiction check, :mod:`ftx.data.contradictions`, 16 bytes more).
Up to ``CHUNK`` queued examples are referenced until their chunk is indexed (their fingerprints,
not the examples, are kept); while examples are being added, ~15 MB of numpy scratch is kept for
reuse from chunk to chunk (fresh memory costs page faults), let go when results are asked for.
The near-duplicate index stops growing at ``FTX_DEDUPE_MAX_MB`` megabytes (default 1024): later
examples are still checked for exact copies, and the report says how many the near check covered
(``near_checked``, ``near_limited``) rather than dropping them silently. LSH buckets that gather
more than ``_FULL_RUN`` examples (templated data) are verified against a few representatives
only, so near duplicates found there are a lower bound.
"""

from __future__ import annotations

from array import array
from collections import Counter
from itertools import compress, repeat
from operator import attrgetter, eq
from typing import Iterable, Iterator

from ..example import Example
from .contradictions import PromptAnswers
from .dedupe_report import (DuplicateGroup, DuplicateReport, Leak, OverlapReport,  # noqa: F401
                            max_index_bytes)
from .dedupe_runs import UnionFind as _UnionFind
from .dedupe_runs import equal_runs as _equal_runs
from .dedupe_runs import use_numpy as _use_numpy
from .minhash import (BANDS, SKETCH, THRESHOLD, band_keys, canonical, exact_hash, fingerprint_ids,  # noqa: F401
                      jaccard, near_words, normalized_text, shingle_hashes, text_hash, word_ids)

_FULL_RUN = 48  # LSH buckets up to this size are verified pairwise
_REPS = 8  # larger buckets: each member is checked against this many representatives
_MATCHES = 3  # training lines named per leaked validation example
CHUNK = 4096  # examples queued, then indexed together
_EXACT_BYTES = 146  # per example: class, side, source arrays, the first-of-hash dict entry, prompt/answer keys
_NEAR_BYTES = 190  # per near-indexed example: band keys, text hash, offsets (sketch extra)
_FILE, _LINE = attrgetter("file"), attrgetter("line")


class DedupeIndex:
    """Streaming index of examples: :meth:`add` each one, then :meth:`report` or :meth:`leaks`.

    Only the first of each exact-duplicate class ("unique" example) enters the near-duplicate
    index; its copies follow it through the exact class. Storage is flat arrays, so an example
    costs a few hundred bytes whatever its length. Unique examples are numbered in order; the
    near-duplicate index holds the first ``near_count`` of them (all, unless the memory bound of
    :func:`max_index_bytes` was reached). Examples are held until ``CHUNK`` of them are waiting
    (or a result is asked for), then indexed together.
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
        self._pending: list[Example] = []  # added, not indexed yet
        self._pending_side = bytearray()
        self._pending_where: dict[int, str] = {}
        self._work = None  # numpy scratch reused between chunks (ftx.data.minhash_np.Workspace)
        self._max_bytes = max_index_bytes()
        self._bytes = 0
        self._near_limited = False
        self._prompts = PromptAnswers()  # contradictory examples: same prompt, other answer

    def __len__(self) -> int:
        return len(self._class) + len(self._pending)

    def close(self) -> None:
        """Nothing to let go (an index in another process, :class:`.dedupe_fork.ForkedIndex`, has)."""

    @property
    def near_count(self) -> int:
        """Unique examples in the near-duplicate index (a prefix of the unique numbers)."""
        self._flush()
        return len(self._normh)

    def where(self, eid: int) -> str:
        """How reports name example ``eid``: file:line, or its label."""
        self._flush()
        f = self._file_of[eid]
        if f < 0:
            return self._labels[eid]
        return f"{self._names[f]}:{self._line_of[eid]}"

    def add(self, example: Example, where: str | None = None, side: int = 0) -> int:
        """Index one example; ``where`` names it in reports (default: its source, else #N)."""
        eid = len(self._class) + len(self._pending)
        self._pending.append(example)
        self._pending_side.append(side)
        if where is not None:
            self._pending_where[eid] = where
        if len(self._pending) >= CHUNK:
            self._flush()
        return eid

    def _flush(self) -> None:
        """Index the examples added since the last flush."""
        examples = self._pending
        if not examples:
            return
        sides, wheres = self._pending_side, self._pending_where
        self._pending, self._pending_side, self._pending_where = [], bytearray(), {}
        eid0 = len(self._class)
        self._locate(examples, eid0, wheres)
        self._side.extend(sides)
        self._prompts.extend(examples)
        chunk = None
        if _use_numpy(eid0 + len(examples)):
            from .dedupe_batch import Chunk

            chunk = Chunk(examples)
            hashes = chunk.exact_hashes()
        else:
            hashes = [exact_hash(e) for e in examples]
        eids = range(eid0, eid0 + len(examples))
        firsts = list(map(self._first.setdefault, hashes, eids))  # each example's class: its first copy
        self._class.extend(firsts)
        new = list(map(eq, firsts, eids))
        self._unique.extend(compress(eids, new))
        unique = list(compress(range(len(examples)), new))  # chunk positions of the unique examples
        if self._near_limited:
            self._bytes += _EXACT_BYTES * len(examples)
            return
        if not unique:
            self._bytes += _EXACT_BYTES * len(examples)
            return
        if chunk is not None:
            import numpy as np

            keep = np.zeros(len(examples), dtype=bool)
            keep[unique] = True
            if self._work is None:
                from .minhash_np import Workspace

                self._work = Workspace()
            ids, counts = chunk.near_ids(keep, self._work)
            near = self._within_bound(len(examples), unique, counts.tolist())
            end = int(counts[:near].sum())
            self._add_fingerprints_np(ids[:end], counts[:near])
        else:
            words = [near_words(examples[i]) for i in unique]
            near = self._within_bound(len(examples), unique, list(map(len, words)))
            for w in words[:near]:
                ids = word_ids(w)
                self._normh.append(text_hash(ids))
                self._add_fingerprint(*fingerprint_ids(ids))

    def _locate(self, examples: list[Example], eid0: int, wheres: dict[int, str]) -> None:
        """Record how reports name each example: file:line of its source, or its label."""
        sources = [e.source for e in examples]
        if not wheres and None not in sources:
            files = list(map(_FILE, sources))
            for name in set(files) - self._files.keys():
                self._files[name] = len(self._names)
                self._names.append(name)
            self._file_of.extend(map(self._files.__getitem__, files))
            self._line_of.extend(map(_LINE, sources))
            return
        for eid, source in enumerate(sources, eid0):
            where = wheres.get(eid)
            if where is None and source is not None:
                if source.file not in self._files:
                    self._files[source.file] = len(self._names)
                    self._names.append(source.file)
                self._file_of.append(self._files[source.file])
                self._line_of.append(source.line)
            else:
                self._file_of.append(-1)
                self._line_of.append(0)
                self._labels[eid] = where or f"example {eid + 1}"

    def _within_bound(self, size: int, unique: list[int], words: list[int]) -> int:
        """How many of a chunk's unique examples (at chunk positions ``unique``, with ``words``
        normalized words each) the near-duplicate index takes before its memory bound: every
        example of the chunk (``size`` of them) costs its exact-check bytes, each near-indexed one
        its near bytes."""
        total = self._bytes + _EXACT_BYTES * size + _NEAR_BYTES * len(unique) + 4 * sum(
            map(min, words, repeat(SKETCH)))
        if total <= self._max_bytes:
            self._bytes = total
            return len(unique)
        at = 0
        for k, (i, count) in enumerate(zip(unique, words)):
            self._bytes += _EXACT_BYTES * (i + 1 - at) + _NEAR_BYTES + 4 * min(count, SKETCH)
            at = i + 1
            if self._bytes > self._max_bytes:
                # The bound is reached: this and later examples get the exact check only, and
                # the reports say so (the near-indexed examples stay a prefix of the unique numbers).
                self._near_limited = True
                break
        else:
            k = len(unique)
        self._bytes += _EXACT_BYTES * (size - at)
        return k

    def _add_fingerprints_np(self, ids, counts) -> None:
        """Fingerprint examples given by their word ids end to end (``counts[i]`` each), in numpy."""
        import numpy as np

        from .minhash_np import fingerprints, text_hashes

        uid0 = len(self._has_bands)
        self._normh.frombytes(text_hashes(ids, counts).tobytes())
        keys, sketches, lengths, whole = fingerprints(ids, counts)
        has = counts > 0
        # An example without words gets keys of its own; _runs drops it should one collide.
        keys[~has] = -(np.arange(uid0, uid0 + len(counts))[~has, None] + 1)
        for band, column in zip(self._bands, keys.T):
            band.frombytes(np.ascontiguousarray(column).tobytes())
        self._has_bands.extend(has.astype(np.uint8).tobytes())
        self._sketches.frombytes(sketches.astype(np.uint32).tobytes())
        end = self._sketch_end[-1] if self._sketch_end else 0
        self._sketch_end.frombytes((np.cumsum(lengths) + end).astype(np.int64).tobytes())
        self._full.extend(whole.astype(np.uint8).tobytes())

    def _add_fingerprint(self, keys: list[int], sketch: list[int], whole: bool) -> None:
        """Append one example's fingerprint (pure Python)."""
        uid = len(self._has_bands)
        for band, key in zip(self._bands, keys or [-(uid + 1)] * BANDS):
            band.append(key)
        self._has_bands.append(1 if keys else 0)
        self._sketches.extend(sketch)
        self._sketch_end.append(len(self._sketches))
        self._full.append(1 if whole else 0)

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
            runs, seen = [], set()
            for band in self._bands:
                for run in _equal_runs(band, self.near_count, self._has_bands):
                    if len(run) <= _FULL_RUN:  # a near pair shares most bands: verify it once
                        key = tuple(run)
                        if key in seen:
                            continue
                        seen.add(key)
                    runs.append(run)
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

    def _tally(self, side: int | None) -> tuple[int, list[int], list[int], int, object]:
        """For the examples added with ``side`` (all: None): (how many, unique numbers of their
        exact classes ascending, the classes with two or more of them in order of first
        appearance, how many the near check covered, class set -> {class: its examples})."""
        limit = (self._unique[self.near_count] if self.near_count < len(self._unique) else len(self._class)) \
            if self._near_limited else None
        if _use_numpy(len(self._class)):
            import numpy as np

            classes = np.frombuffer(self._class, dtype=np.int64)
            eids = np.arange(len(classes)) if side is None else np.flatnonzero(np.frombuffer(self._side, np.uint8) == side)
            classes = classes[eids]
            distinct, first, sizes = np.unique(classes, return_index=True, return_counts=True)
            present = np.searchsorted(np.frombuffer(self._unique, dtype=np.int64), distinct).tolist()
            repeated = distinct[sizes > 1][np.argsort(first[sizes > 1])].tolist()
            checked = len(eids) if limit is None else int(sizes[distinct < limit].sum())

            def members(wanted: set[int]) -> dict[int, list[int]]:
                out: dict[int, list[int]] = {c: [] for c in sorted(wanted)}
                if wanted:
                    chosen = np.isin(classes, np.array(sorted(wanted), dtype=np.int64))
                    for eid, c in zip(eids[chosen].tolist(), classes[chosen].tolist()):
                        out[c].append(eid)
                return out

            return len(eids), present, repeated, checked, members
        if side is None:
            eids: Iterable[int] = range(len(self._class))
            classes: Iterable[int] = self._class
        else:
            eids = list(compress(range(len(self._class)), map(side.__eq__, self._side)))
            classes = list(compress(self._class, map(side.__eq__, self._side)))
        counts = Counter(classes)  # class (first example id, of any side) -> its examples here, by first seen
        uid_of = dict(zip(self._unique, range(len(self._unique))))
        present = sorted(map(uid_of.__getitem__, counts))

        def members(wanted: set[int]) -> dict[int, list[int]]:
            out: dict[int, list[int]] = {c: [] for c in sorted(wanted)}
            if wanted:
                for eid, c in zip(eids, classes):
                    if c in wanted:
                        out[c].append(eid)
            return out

        checked = len(eids) if limit is None else sum(k for c, k in counts.items() if c < limit)
        return len(eids), present, [c for c, k in counts.items() if k > 1], checked, members

    def report(self, side: int | None = None) -> DuplicateReport:
        """Exact and near-duplicate groups over everything added, or over the examples added
        with ``side`` only (the validation set's own duplicates, from the index that also holds
        the training set for the leak check)."""
        self._flush()
        self._work = None  # results are asked for: the scratch of the adding is let go
        n, present, repeated, checked, members_of = self._tally(side)
        uf = _UnionFind()
        self._near_pairs(uf, None if side is None else set(present))
        components = uf.groups()  # every member is present (runs were limited to present ones)
        report = DuplicateReport(examples=n, near_limited=self._near_limited)
        report.near_checked = checked
        report.exact_duplicates = n - len(present)
        report.near_duplicates = sum(len(uids) - 1 for uids in components.values())
        grouped = {self._unique[u] for uids in components.values() for u in uids}
        members = members_of(set(repeated) | grouped)
        report.exact_groups = [DuplicateGroup("exact", [self.where(e) for e in members[c]]) for c in repeated]
        for uids in components.values():
            ids = sorted(e for u in uids for e in members[self._unique[u]])
            report.near_groups.append(DuplicateGroup("near", [self.where(e) for e in ids]))
        on_side = None if side is None else [e for e, s in enumerate(self._side) if s == side]
        report.contradictions, groups = self._prompts.report(self.where, on_side)
        report.contradiction_groups = [DuplicateGroup("contradiction", g) for g in groups]
        return report

    def leaks(self) -> OverlapReport:
        """Validation examples (side 1) that copy a training example (side 0)."""
        self._flush()
        self._work = None
        sides = self._side
        val = list(compress(range(len(self._class)), sides))
        val_classes = [self._class[e] for e in val]
        found: dict[int, tuple[str, list[str], float]] = {}  # class (first example id) -> leak
        copied = {c for c in val_classes if sides[c] == 0}  # classes of training examples copied
        if copied:
            train_copies: dict[int, list[str]] = {c: [] for c in copied}  # class -> its first training lines
            for eid, first in enumerate(self._class):
                if first in copied and sides[eid] == 0 and len(train_copies[first]) < _MATCHES:
                    train_copies[first].append(self.where(eid))
            for c in val_classes:
                if c in copied:
                    found.setdefault(c, ("exact", train_copies[c], 1.0))
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
        report = OverlapReport(validation_examples=len(val), near_limited=self._near_limited)
        if self._near_limited:
            limit = self._unique[self.near_count] if self.near_count < len(self._unique) else len(self._class)
            report.near_checked = sum(1 for c in val_classes if c < limit)
        else:
            report.near_checked = len(val)
        for eid, c in zip(val, val_classes):
            leak = found.get(c)
            if leak is not None:
                report.leaks.append(Leak(self.where(eid), leak[0], leak[1], leak[2]))
        return report


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
