"""The duplicate index of a large data set, built in a forked process beside the statistics.

The data plan asks one :class:`~ftx.data.dedupe.DedupeIndex` for the training set's duplicates,
the validation set's and the leak check between them; on a large data set that index is about a
third of the plan's work, and it needs nothing the statistics compute. Where the machine has a
second core and the process can fork, :func:`index_for` starts a child that inherits the examples
already in memory (no copy, no pickling of examples), builds the same index in the same order the
statistics would (the training set, its report, the validation set, its report, the leaks) and
sends back only the reports; meanwhile this process counts tokens and computes the statistics.
The reports are the ones the index would give in this process: the same examples, added in the
same order, with the same hashes (a forked child keeps the parent's string-hash seed).

Used only when it pays (at least :data:`MIN_EXAMPLES` examples, two usable cores) and is safe (on
Linux, no other thread in the process); off with
``FTX_DATA_WORKERS=0``. When the child cannot be started or its answer does not arrive whole (it
was killed, ran out of memory), the index is built here instead, as it would have been.
"""

from __future__ import annotations

import itertools
import os
import pickle
import struct
import sys
import threading
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..example import Example
from .dedupe import DedupeIndex
from .dedupe_report import DuplicateReport, OverlapReport

MIN_EXAMPLES = 20_000


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def forking_pays(examples: int) -> bool:
    """Whether :func:`index_for` forks for a data set of ``examples``."""
    # Linux only: elsewhere fork is unsafe (macOS system frameworks) or missing (Windows).
    if os.environ.get("FTX_DATA_WORKERS", "").strip() == "0" or not sys.platform.startswith("linux"):
        return False
    # Only from a single-threaded process: a child forked beside other threads could find a lock
    # one of them held (an import, logging) taken forever (a Ray driver, a tracker's thread).
    return examples >= MIN_EXAMPLES and _usable_cores() >= 2 and threading.active_count() == 1


def index_for(sides: Sequence[Sequence[Example]], first: Callable[[], Any] | None = None) -> Any:
    """The index that :func:`~ftx.data.stats.compute_stats` fills for ``sides`` (the training
    examples, then the validation ones when there are any): a :class:`ForkedIndex` where forking
    pays, else an ordinary :class:`DedupeIndex`. ``first``: a job for the child before the index
    (its share of the token counts, :mod:`ftx.data.token_share`), answered by
    :meth:`ForkedIndex.first_answer`; with no child, the caller does it itself."""
    if not forking_pays(sum(len(s) for s in sides)):
        return DedupeIndex()
    return ForkedIndex(sides, first)


def _answers(sides: Sequence[Sequence[Example]]) -> Iterator[tuple[str, Any]]:
    """What the statistics and the leak check ask the index, in the order they ask it: each
    side's report once its examples are in, then the leaks."""
    index = DedupeIndex()
    for side, examples in enumerate(sides):
        for example in examples:
            index.add(example, side=side)
        yield f"report{side}", index.report(side=side)
    if len(sides) > 1:
        yield "leaks", index.leaks()


_LENGTH = struct.Struct("<Q")


class ForkedIndex:
    """Stands in for :class:`DedupeIndex` in :func:`~ftx.data.stats.compute_stats`: :meth:`add`
    only checks that the examples come in the order the child indexes them; :meth:`report` and
    :meth:`leaks` answer from the child, waiting for it when it has not got there yet (the
    training set's report comes first, so the validation set's statistics go on meanwhile)."""

    _first: Callable[[], Any] | None = None

    def __init__(self, sides: Sequence[Sequence[Example]], first: Callable[[], Any] | None = None):
        self._first = first
        self._sides = [list(s) for s in sides]
        self._added = [0] * len(self._sides)
        self._offsets = [sum(len(s) for s in self._sides[:i]) for i in range(len(self._sides))]
        self._answers: dict[str, Any] = {}
        self._pid, self._fd = self._start()

    def _start(self) -> tuple[int | None, int | None]:
        try:
            read, write = os.pipe()
        except OSError:
            return None, None
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return None, None
        if pid == 0:  # the child: answer, then leave without running anything of the parent's
            code = 1
            try:
                os.close(read)
                jobs: Iterable[tuple[str, Any]] = _answers(self._examples())
                if self._first is not None:
                    jobs = itertools.chain([("first", self._first())], jobs)
                for key, answer in jobs:
                    payload = pickle.dumps((key, answer), protocol=pickle.HIGHEST_PROTOCOL)
                    view = memoryview(_LENGTH.pack(len(payload)) + payload)
                    while view:
                        view = view[os.write(write, view):]
                code = 0
            except BaseException:  # noqa: BLE001 - the parent builds the index itself
                pass
            finally:
                os._exit(code)
        os.close(write)
        return pid, read

    def add(self, example: Example, where: str | None = None, side: int = 0) -> int:
        if where is not None or side >= len(self._sides):
            raise ValueError("a forked index answers only for the examples it was given, unlabelled")
        eid = self._added[side]
        if eid >= len(self._sides[side]) or self._sides[side][eid] is not example:
            raise ValueError("a forked index takes its examples in the order it was given them")
        self._added[side] += 1
        return self._offsets[side] + eid

    def _read(self, size: int) -> bytes | None:
        chunks, left = [], size
        while left:
            chunk = os.read(self._fd, min(left, 1 << 20))
            if not chunk:
                return None
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def first_answer(self) -> Any:
        """What the child's ``first`` job returned, or ``None`` when the child failed before."""
        self._receive("first")
        return self._answers.get("first")

    def _answer(self, key: str) -> Any:
        self._receive(key)
        if key not in self._answers:  # the child failed or could not start: as without it
            self._answers.update(_answers(self._examples()))
        return self._answers[key]

    def _receive(self, key: str) -> None:
        while key not in self._answers and self._fd is not None:
            got = None
            try:
                head = self._read(_LENGTH.size)
                body = self._read(_LENGTH.unpack(head)[0]) if head else None
                got = pickle.loads(body) if body else None
            except Exception:  # noqa: BLE001 - a cut answer: built here instead
                got = None
            if got is None:
                self._finish()
                break
            self._answers[got[0]] = got[1]

    def _examples(self) -> list[Any]:
        """Each side's examples, for the child (or this process when the child failed)."""
        return self._sides

    def _finish(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._pid is not None:
            try:
                os.waitpid(self._pid, 0)
            except ChildProcessError:  # pragma: no cover - reaped elsewhere
                pass
            self._pid = None

    def report(self, side: int | None = None) -> DuplicateReport:
        if side is None:
            raise ValueError("a forked index reports per side")
        if self._added[side] != self._expected(side):
            raise ValueError("a forked index reports a side once all its examples were added")
        return self._answer(f"report{side}")

    def _expected(self, side: int) -> int:
        return len(self._sides[side])

    def leaks(self) -> OverlapReport:
        if len(self._added) < 2:  # one count per side
            raise ValueError("a forked index of one set has no leak check")
        answer = self._answer("leaks")
        self._finish()
        return answer

    def close(self) -> None:
        """Let the child go (waiting for it) when not every answer was asked for."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._finish()


# ~20,000 chat examples of a few hundred bytes each
MIN_FILE_BYTES = 8 << 20


def files_pay(paths: Sequence[str]) -> bool:
    """Whether :func:`index_for_files` forks for these files: regular files of at least
    :data:`MIN_FILE_BYTES` together, where :func:`forking_pays` would for a data set that large."""
    if not all(os.path.isfile(p) for p in paths):  # stdin, a pipe: the child could not read it again
        return False
    try:
        size = sum(os.stat(p).st_size for p in paths)
    except OSError:
        return False
    return size >= MIN_FILE_BYTES and forking_pays(MIN_EXAMPLES)


def index_for_files(sources: Sequence[Callable[[], Iterable[Example]]], paths: Sequence[str]) -> Any:
    """Like :func:`index_for`, for statistics that stream their files (``ftx data stats``): each
    side is a function that reads it again (the child reads the files itself; nothing is held in
    memory to share). An ordinary :class:`DedupeIndex` unless :func:`files_pay`."""
    if not files_pay(paths):
        return DedupeIndex()
    return StreamedForkedIndex(sources)


class StreamedForkedIndex(ForkedIndex):
    """A :class:`ForkedIndex` whose child reads each side from its files itself. :meth:`add` only
    counts; a side's report is taken only when the child indexed as many examples as this process
    was given (a file changed in between: the index is then built here, from the files read
    again)."""

    def __init__(self, sources: Sequence[Callable[[], Iterable[Example]]]):
        self._sources = list(sources)
        self._sides = []
        self._added = [0] * len(self._sources)
        self._answers = {}
        self._pid, self._fd = self._start()

    def _examples(self) -> list[Any]:
        return [source() for source in self._sources]

    def _expected(self, side: int) -> int:
        return self._added[side]

    def add(self, example: Example, where: str | None = None, side: int = 0) -> int:
        if where is not None or side >= len(self._sources):
            raise ValueError("a forked index answers only for the examples it was given, unlabelled")
        self._added[side] += 1
        return sum(self._added[:side]) + self._added[side] - 1

    def report(self, side: int | None = None) -> DuplicateReport:
        answer = super().report(side)
        if answer.examples != self._added[side or 0]:  # the child read other data: build it here
            self.close()
            self._answers = dict(_answers(self._examples()))
            answer = self._answers[f"report{side}"]
        return answer

