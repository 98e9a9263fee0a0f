"""A large data set's new texts counted on two cores: the forked child that builds the duplicate
index (:mod:`ftx.data.dedupe_fork`) first counts a share of them and sends the counts back.

The native tokenizer holds the GIL, so a thread would not count in parallel; a process does, and
the forked child already has every text in memory. The parent lists the distinct new texts once
(:meth:`~ftx.data.tokens.OpenAICounter.fresh_texts`) before forking, so the child inherits that
very list and counts its tail while the parent counts the head; each count is the native
tokenizer's own, kept in the memo in the list's order, exactly as one process would count them.
When the child's counts do not arrive whole, the parent counts the tail itself.

Worth it only where the parent has other work to do meanwhile (a hosted plan prepares its upload
files while the child builds the index): otherwise the parent would just wait longer for the
index, so the share is then 0 and counting stays in this process after the fork, as before.
"""

from __future__ import annotations

import mmap
from array import array
from dataclasses import dataclass
from typing import Any, Callable, Iterable

# Of the new texts, the share the child counts before its index, chosen so that both processes
# spend about the same CPU from the fork to the last index answer (measured at 100k chat
# examples, 2 cores: all the new texts ~0.75 s, the index ~1.0 s; the parent's dry-run work
# meanwhile, preparing the upload files and the statistics, ~0.9 s).
HOSTED_SHARE = 0.35
# A launch also imports the provider's SDK meanwhile (OpenAI's: ~0.4 s), while the child counts
# its share: the child counts more.
LAUNCH_SHARE = 0.5


@dataclass
class Meanwhile:
    """What a command does in this process while the forked child counts its share of the texts
    and builds the duplicate index: ``while_counting`` needs no count (importing a provider's
    SDK) and runs before this process waits for the child's counts; ``once_counted`` needs them
    all (a hosted plan's upload files) and runs before the statistics, which wait for the
    index. ``share``: the part of the new texts the child counts, to make room for both."""

    once_counted: Callable[[], None]
    while_counting: Callable[[], None] | None = None
    share: float = HOSTED_SHARE


class Share:
    """The split of one counter's new texts: ``texts[:start]`` here, ``texts[start:]`` in the
    child, whose counts come back through memory shared before the fork (a pipe would hold the
    child up until the parent reads; only a short "done" goes through the child's pipe)."""

    def __init__(self, counter: Any, texts: list[str], share: float):
        self.counter = counter
        self.texts = texts
        self.start = len(texts) - int(len(texts) * share)
        self.native = counter.native()  # built before the fork: the child inherits it
        tail = len(texts) - self.start
        self._shared = mmap.mmap(-1, 8 * tail) if tail else None  # MAP_SHARED: the child's writes show here

    def child_part(self) -> int:
        """The child's job: the tail's counts as 64-bit integers into the shared memory; returns
        how many it wrote."""
        counts = array("q", map(self.native, self.texts[self.start:]))
        if self._shared is not None:
            self._shared[:] = counts.tobytes()
        return len(counts)

    def finish(self, index: Any, meanwhile: Callable[[], None] | None = None) -> None:
        """Count the head here, do ``meanwhile``, take the tail's counts from the child (or
        count them here), and keep them all in the memo, in the texts' order."""
        head, tail = self.texts[:self.start], self.texts[self.start:]
        self.counter.remember(head, map(self.native, head))
        if meanwhile is not None:
            meanwhile()
        counts = None
        got = getattr(index, "first_answer", None)
        if self._shared is not None:
            if got is not None and got() == len(tail):
                counts = array("q")
                counts.frombytes(self._shared)
            self._shared.close()
            self._shared = None
        self.counter.remember(tail, counts if counts is not None else map(self.native, tail))


def plan_share(counter: Any, texts: Iterable[str], share: float) -> Share | None:
    """A :class:`Share` of ``counter``'s new texts among ``texts``, or ``None`` when they are
    few enough for the token store (counted here already by ``fresh_texts``)."""
    fresh = counter.fresh_texts(texts)
    return None if fresh is None else Share(counter, fresh, share)
