"""Helpers of :mod:`ftx.data.dedupe`: which implementation runs, the LSH buckets holding two or
more examples, and the union-find that turns verified pairs into groups."""

from __future__ import annotations

import os
from array import array
from typing import Iterator

_NUMPY_FROM = 512  # a smaller index is indexed in pure Python (numpy's import costs more)


class UnionFind:
    """Union-find over the few unique numbers that have a near duplicate (the rest are their own
    roots and take no memory)."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        while x in parent:
            up = parent[x]
            if up in parent:
                parent[x] = parent[up]  # path halving
            x = up
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the earliest example stays the root

    def groups(self) -> dict[int, list[int]]:
        """Root -> its members ascending (the root first), for every group of two or more, by root."""
        out: dict[int, list[int]] = {}
        for x in sorted(self.parent):
            out.setdefault(self.find(x), []).append(x)
        return {root: [root] + out[root] for root in sorted(out)}


def use_numpy(size: int) -> bool:
    """Numpy for an index of ``size`` examples: when installed, and the index holds at least
    ``_NUMPY_FROM`` examples (a smaller one costs less in pure Python than numpy's import, and
    little either way). ``FTX_DEDUPE_NUMPY=0`` forces pure Python."""
    if os.environ.get("FTX_DEDUPE_NUMPY") == "0" or size < _NUMPY_FROM:
        return False
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def equal_runs(keys: array, n: int, keep) -> Iterator[list[int]]:
    """Sorted lists (size >= 2) of the positions in ``keys[:n]`` that hold equal keys, keeping
    positions whose ``keep`` entry is true."""
    if n >= _NUMPY_FROM and use_numpy(n):
        yield from equal_runs_numpy(keys, n, keep)
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


def equal_runs_numpy(keys: array, n: int, keep) -> Iterator[list[int]]:
    """:func:`equal_runs` in numpy: one sort tells whether any key repeats (most buckets hold one
    example); if so, one argsort finds the positions holding repeated keys, which are then
    grouped by (key, position)."""
    import numpy as np

    values = np.frombuffer(keys, dtype=np.int64)[:n]
    ordered = np.sort(values)
    if not (ordered[1:] == ordered[:-1]).any():
        return
    order = np.argsort(values)
    ordered = values[order]
    same = ordered[1:] == ordered[:-1]
    repeated = np.zeros(n, dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    kept = np.frombuffer(keep, dtype=np.int64 if isinstance(keep, array) else np.uint8)[:n] != 0
    members = order[repeated]
    members = members[kept[members]]
    member_keys = values[members]
    by = np.lexsort((members, member_keys))  # by key, each run's positions ascending
    members, member_keys = members[by], member_keys[by]
    for run in np.split(members, np.flatnonzero(member_keys[1:] != member_keys[:-1]) + 1):
        if len(run) >= 2:
            yield run.tolist()
