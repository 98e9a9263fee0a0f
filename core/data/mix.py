"""Several sources (and replay) -> one training set and one validation set, deterministically.

How many examples each source gives (the *plan*):

* a source with ``count`` gives exactly that many (repeating its examples when it has fewer);
* a source with neither ``weight`` nor ``count`` gives all of its examples;
* weighted sources share ``mix.examples`` (less the fixed counts) in proportion to their weights,
  apportioned by largest remainder so the counts sum exactly and each is within one of
  ``total * weight``. Without ``mix.examples`` the total is the largest one the weights allow
  without repeating an example: ``min(available_i / weight_i)``;
* replay gives ``round(task_total * ratio / (1 - ratio))``, so it is ``ratio`` of the mix.

Which examples (the *sample*): every record gets a seeded hash key from (seed, task, index); a
source gives its ``planned`` smallest keys (a bounded heap: memory grows with what is taken, not
with the source) and, when it must give more than it holds, whole copies plus the smallest keys.
The validation side of a source is its own ``validation`` file, or a hash-based split of its
records (``split``, else ``data.split``, else 0.2): which side a record lands on depends on its
content, so exact duplicates never straddle train and validation. A source that is only sampled
from keeps validation examples in proportion to what it gives, not to its size.

Exact copies across sources are dropped (the first source keeps its copy), and validation copies of
training examples too. The result is shuffled with ``data.seed``; ``mix.curriculum`` may reorder it.
The plan and the counts actually taken per source are reported in ``info["mix"]``.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..errors import FtxError, Problem
from ..example import Example, Message
from .sources import GENERAL, SourceSpec, source_locations, task_name

KEEP = 20_000  # a source up to this size is read once; a larger one is read again to sample it


@dataclass
class _Source:
    field: str
    path: str
    spec: SourceSpec
    task: str
    replay: bool = False
    train_n: int = 0
    val_n: int = 0
    kept: list[Example] | None = field(default_factory=list)  # None: too large, read again
    val_kept: list[Example] | None = field(default_factory=list)  # None: read again with the train side
    ratio: float | None = None  # split share; None: a validation file (or data.validation)
    planned: int = 0
    val_planned: int = 0
    train: list[Example] = field(default_factory=list)
    validation: list[Example] = field(default_factory=list)
    duplicates: int = 0
    val_duplicates: int = 0


def _unit(*parts: Any) -> float:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2.0 ** 64


def _examples(path: str, fmt: str, problems: list[Problem]) -> Iterator[Example]:
    if path == GENERAL:
        from .general import iter_general

        return iter_general()
    from .load import iter_examples

    return iter_examples(path, fmt, problems)


def _locate(recipe: Any, dotted: str) -> tuple[str | None, int | None]:
    return recipe.located.where(tuple(int(p) if p.isdigit() else p for p in dotted.split(".")))


def _split_side(src: _Source, example: Example, seed: int) -> bool:
    """True when ``example`` belongs to the validation side of its source's split (decided by its
    kind and text, so copies land on the same side)."""
    return _unit(seed, "split", example.kind, example.text()) < (src.ratio or 0.0)


def _first_pass(src: _Source, seed: int, problems: list[Problem]) -> None:
    for example in _examples(src.path, src.spec.format, problems):
        if src.ratio and _split_side(src, example, seed):
            src.val_n += 1
            if src.val_kept is not None:
                src.val_kept.append(example)
            continue
        src.train_n += 1
        if src.kept is not None:
            src.kept.append(example)
            if len(src.kept) > KEEP:  # too large to hold: sample it on a second read
                src.kept = src.val_kept = None


def _apportion(total: int, weights: list[float]) -> list[int]:
    """Largest-remainder apportionment: integers summing to ``total``, each within 1 of its share."""
    s = sum(weights)
    shares = [total * w / s for w in weights]
    counts = [math.floor(x) for x in shares]
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _plan(sources: list[_Source], total: int | None, replay_ratio: float | None) -> None:
    tasks = [s for s in sources if not s.replay]
    weighted = [s for s in tasks if s.spec.weight is not None]
    fixed = 0
    for s in tasks:
        if s.spec.count is not None:
            s.planned = s.spec.count
        elif s.spec.weight is None:
            s.planned = s.train_n
        fixed += s.planned if s.spec.weight is None else 0
    if weighted:
        if total is not None:
            share = max(total - fixed, 0)
        else:
            wsum = sum(s.spec.weight for s in weighted)
            share = int(min(s.train_n / (s.spec.weight / wsum) for s in weighted) + 1e-9)
        for s, n in zip(weighted, _apportion(share, [s.spec.weight for s in weighted])):
            s.planned = n
    task_total = sum(s.planned for s in tasks)
    for s in sources:
        if s.replay and replay_ratio:
            s.planned = round(task_total * replay_ratio / (1 - replay_ratio))
        if s.ratio and s.planned < s.train_n:
            s.val_planned = min(s.val_n, math.ceil(s.planned * s.ratio / (1 - s.ratio)))
        else:
            s.val_planned = s.val_n


class _Bottom:
    """The ``k`` items with the smallest keys seen so far, holding at most ``k`` at a time."""

    def __init__(self, k: int, key: Any):
        self.k, self.key = max(k, 0), key
        self.heap: list[tuple[float, int, Example]] = []

    def push(self, i: int, ex: Example) -> None:
        if not self.k:
            return
        entry = (-self.key(i), i, ex)
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, entry)
        elif entry > self.heap[0]:
            heapq.heapreplace(self.heap, entry)

    def items(self) -> list[Example]:
        """In index order."""
        return [ex for _, _, ex in sorted(self.heap, key=lambda e: e[1])]


def _smallest(items: Iterator[tuple[int, Example]], k: int, key: Any) -> list[Example]:
    """The ``k`` items with the smallest keys, in index order, holding at most ``k`` at a time."""
    bottom = _Bottom(k, key)
    for i, ex in items:
        bottom.push(i, ex)
    return bottom.items()


def _take(src: _Source, seed: int, epoch: int = 0) -> tuple[list[Example], list[Example]]:
    """(training sample, validation sample) of a source: from memory when it is held, else in one
    more read that feeds both bounded heaps."""
    n, k = src.train_n, src.planned
    pick = ("pick",) if epoch == 0 else ("pick", epoch)  # epoch 0 is the mix every backend sees
    key = lambda i: _unit(seed, src.task, *pick, i)  # noqa: E731
    val_key = lambda i: _unit(seed, src.task, "val", i)  # noqa: E731
    copies, rest = divmod(k, n) if n else (0, 0)
    if src.kept is not None:
        held, val_held = src.kept, src.val_kept or []
    else:
        held, val_bottom, bottom = [], _Bottom(src.val_planned, val_key), _Bottom(rest if copies else k, key)
        ti = vi = 0
        for example in _examples(src.path, src.spec.format, []):
            if src.ratio and _split_side(src, example, seed):
                val_bottom.push(vi, example)
                vi += 1
                continue
            if copies:
                held.append(example)  # given more than once: the whole source is needed anyway
            bottom.push(ti, example)
            ti += 1
        val = val_bottom.items() if src.ratio else []
        return (held * copies + bottom.items() if copies else bottom.items()), val
    val = _smallest(iter(enumerate(val_held)), src.val_planned, val_key) if src.ratio else []
    if copies:
        return held * copies + _smallest(iter(enumerate(held)), rest, key), val
    return _smallest(iter(enumerate(held)), k, key), val


def _tag(example: Example, src: _Source) -> Example:
    """The example as this source trains it: its task, prefix and system prompt applied."""
    spec = src.spec
    messages = list(example.messages)
    if spec.prefix:
        for i, m in enumerate(messages):
            if m.role == "user":
                messages[i] = Message(m.role, spec.prefix + (m.content or ""), m.name, m.weight,
                                      m.tool_calls, m.tool_call_id)
                break
    if spec.system and example.kind != "completion" and not (messages and messages[0].role == "system"):
        messages.insert(0, Message("system", spec.system))
    example.messages = messages
    example.task = src.task
    return example


def _read_validation(path: str, fmt: str, src: _Source | None, problems: list[Problem]) -> list[Example]:
    out = list(_examples(path, fmt, problems))
    return [_tag(e, src) for e in out] if src is not None else out


def mix_splits(recipe: Any, epoch: int = 0) -> tuple[list, list, dict[str, Any], list[Problem]]:
    """(train, validation, info, problems) for a recipe whose data is a list of sources or has replay.

    ``epoch`` > 0 draws that epoch's sample (the local backend samples every epoch afresh); the
    counts per source, the validation set and the order's rules stay those of epoch 0."""
    spec = recipe.recipe.data
    mix = spec.mix
    seed = spec.seed
    problems: list[Problem] = []
    sources: list[_Source] = []
    tasks_seen: dict[str, str] = {}
    for dotted, path, s in source_locations(recipe):
        is_replay = dotted.startswith("data.replay")
        task = task_name(s)
        if task in tasks_seen:
            file, line = _locate(recipe, dotted)
            problems.append(Problem(f"task {task!r} is already the task of {tasks_seen[task]}; "
                                    "name each source's task", file, line, dotted.rsplit(".path", 1)[0]))
            continue
        tasks_seen[task] = dotted
        ratio = None
        if not s.validation and not spec.validation:
            ratio = s.split if s.split is not None else (spec.split if spec.split is not None else 0.2)
        src = _Source(dotted, path, s, task, replay=is_replay, ratio=ratio)
        try:
            _first_pass(src, seed, problems)
        except FtxError as exc:
            file, line = _locate(recipe, dotted)
            problems.extend(Problem(p.message, file, line, dotted) for p in exc.problems)
            continue
        if src.train_n == 0:
            file, line = _locate(recipe, dotted)
            problems.append(Problem(f"source {path} has no training examples", file, line, dotted))
        sources.append(src)
    if problems:
        return [], [], {}, problems
    _plan(sources, mix.examples, spec.replay.ratio if spec.replay else None)
    from .minhash import exact_hash

    seen: set[int] = set()
    train: list[Example] = []
    for src in sources:
        picked, val_picked = _take(src, seed, epoch)
        tagged: dict[int, Example] = {}
        own: set[int] = set()
        for ex in picked:
            if id(ex) not in tagged:
                tagged[id(ex)] = _tag(ex, src)
            h = exact_hash(ex)
            if mix.dedupe and h in seen and h not in own:
                src.duplicates += 1
                continue
            own.add(h)
            src.train.append(ex)
        seen |= own
        train.extend(src.train)
        if src.ratio:
            val = [_tag(e, src) for e in val_picked]
            src.kept = src.val_kept = []
        elif src.spec.validation:
            val = _read_validation(recipe.data_path(src.spec.validation), src.spec.format, src, problems)
        else:
            val = []
        src.validation = val
    validation: list[Example] = []
    if spec.validation:
        validation = _read_validation(recipe.data_path(spec.validation), spec.format, None, problems)
    for src in sources:
        for ex in src.validation:
            if mix.dedupe and exact_hash(ex) in seen:
                src.val_duplicates += 1
                continue
            validation.append(ex)
    random.Random(seed if epoch == 0 else f"{seed}-{epoch}").shuffle(train)
    if mix.curriculum is not None:
        from .curriculum import order

        train = order(train, mix.curriculum, frozenset({"general"} | {s.task for s in sources if s.replay}))
    info = {"validation": "file" if spec.validation else "sources", "seed": seed,
            "mix": report(sources, spec)}
    return train, validation, info, problems


def report(sources: list[_Source], spec: Any) -> dict[str, Any]:
    total = sum(len(s.train) for s in sources)
    rows = []
    for s in sources:
        rows.append({
            "task": s.task, "path": s.path, "format": s.spec.format,
            "weight": s.spec.weight, "count": s.spec.count, "replay": s.replay,
            "available": s.train_n, "planned": s.planned, "duplicates_dropped": s.duplicates,
            "actual": len(s.train), "share": round(len(s.train) / total, 4) if total else 0.0,
            "repeats": round(s.planned / s.train_n, 2) if s.train_n and s.planned > s.train_n else None,
            "validation": len(s.validation) - s.val_duplicates,
        })
    return {"sources": rows, "train_examples": total,
            "replay_ratio": spec.replay.ratio if spec.replay else None,
            "curriculum": spec.mix.curriculum.by if spec.mix.curriculum else None}


def task_counts(examples: list[Example]) -> dict[str, int]:
    """Examples per task (``None`` tasks counted under ``"-"``)."""
    out: dict[str, int] = {}
    for e in examples:
        key = getattr(e, "task", None) or "-"
        out[key] = out.get(key, 0) + 1
    return out


def mix_lines(mix: dict[str, Any] | None) -> list[str]:
    """The per-source table as text lines (for plans, estimates and run summaries)."""
    if not mix:
        return []
    lines = []
    for r in mix["sources"]:
        size = (f"weight {r['weight']:g}" if r["weight"] is not None else
                f"count {r['count']}" if r["count"] is not None else
                f"replay {mix['replay_ratio']:.0%}" if r["replay"] else "all")
        extra = []
        if r["duplicates_dropped"]:
            extra.append(f"{r['duplicates_dropped']} duplicates dropped")
        if r["repeats"]:
            extra.append(f"repeated x{r['repeats']}")
        lines.append(f"{r['task']}: {r['actual']:,} of {r['planned']:,} planned ({size}; {r['share']:.1%} of the mix; "
                     f"{r['available']:,} available; {r['validation']:,} validation)"
                     + (f" [{', '.join(extra)}]" if extra else ""))
    return lines


def mix_compact(mix: dict[str, Any]) -> str:
    """One line: examples taken per source against the plan."""
    return ", ".join(f"{r['task']} {r['actual']:,}" + (f" of {r['planned']:,} planned" if r["actual"] != r["planned"] else "")
                     for r in mix["sources"]) + f" (total {mix['train_examples']:,})"


def resampled(mix: dict[str, Any] | None) -> bool:
    """Whether another epoch would draw other examples (some source is sampled, not taken whole)."""
    return bool(mix) and any(r["planned"] % r["available"] for r in mix["sources"] if r["available"])


def epoch_mixes(recipe: Any, epochs: int) -> list[list[Example]]:
    """The training examples of epochs 1 .. epochs-1 (epoch 0 is :func:`ftx.data.plan.load_splits`'s)."""
    out = []
    for epoch in range(1, epochs):
        train, _, _, problems = mix_splits(recipe, epoch)
        if problems:
            from ..errors import DataError

            raise DataError(problems=problems)
        out.append(train)
    return out
