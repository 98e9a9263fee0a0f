"""Dataset statistics in one streaming pass: kinds, roles, turns, lengths, duplicates, strata."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from ..example import Example
from .dedupe import DedupeIndex, DuplicateReport
from .tokens import CharCounter, TokenCounter, message_text

if TYPE_CHECKING:  # pragma: no cover
    from ..example import Message

MAX_LINES = 1000  # over-long examples named in full up to this many
# max_length counts tokens; measured in characters, an example's tokens are estimated with
# OpenAI's rule of thumb for English (about 4 characters per token).
CHARS_PER_TOKEN = 4
MISSING = "(missing)"


def field_value(data: Any, dotted: str) -> tuple[bool, Any]:
    """(found, value) of a dotted path (``label``, ``meta.task``) into nested dicts."""
    value = data
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return False, None
        value = value[part]
    return True, value


def stratum_name(found: bool, value: Any) -> str:
    """A stratum's display name: strings as they are, other values as JSON, absent or null as
    (missing)."""
    if not found or value is None:
        return MISSING
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


@dataclass
class Distribution:
    """Summary of a list of non-negative integers; percentiles by the nearest-rank method."""

    count: int = 0
    min: int = 0
    mean: float = 0.0
    p50: int = 0
    p90: int = 0
    p99: int = 0
    max: int = 0

    @classmethod
    def of(cls, values: list[int]) -> "Distribution":
        if not values:
            return cls()
        ordered = sorted(values)
        n = len(ordered)

        def rank(p: float) -> int:  # the smallest value with at least p% of values at or below it
            return ordered[max(0, math.ceil(p / 100 * n) - 1)]

        return cls(n, ordered[0], sum(ordered) / n, rank(50), rank(90), rank(99), ordered[-1])

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "min": self.min, "mean": round(self.mean, 2), "p50": self.p50,
                "p90": self.p90, "p99": self.p99, "max": self.max}


@dataclass
class DatasetStats:
    """What :func:`compute_stats` found. Lengths are in ``unit`` (tokens of ``tokenizer``, or
    characters); ``total_tokens`` is the total in that unit too. ``over_max_length`` counts
    examples over ``max_length`` tokens, estimated from characters when ``max_length_estimated``."""

    examples: int = 0
    tokenizer: str = "chars"
    unit: str = "characters"
    by_kind: dict[str, int] = field(default_factory=dict)
    messages_by_role: dict[str, int] = field(default_factory=dict)
    turns: Distribution = field(default_factory=Distribution)
    lengths: Distribution = field(default_factory=Distribution)
    completion_lengths: Distribution = field(default_factory=Distribution)
    total_tokens: int = 0
    max_length: int | None = None
    over_max_length: int = 0
    over_max_length_lines: list[str] = field(default_factory=list)
    max_length_estimated: bool = False
    duplicates: DuplicateReport = field(default_factory=DuplicateReport)
    stratify_by: str | None = None
    strata: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``--json`` and run records."""
        return {
            "examples": self.examples, "tokenizer": self.tokenizer, "unit": self.unit,
            "by_kind": self.by_kind, "messages_by_role": self.messages_by_role,
            "turns": self.turns.to_dict(), "lengths": self.lengths.to_dict(),
            "completion_lengths": self.completion_lengths.to_dict(),
            "total_tokens": self.total_tokens, "max_length": self.max_length,
            "over_max_length": self.over_max_length, "over_max_length_lines": self.over_max_length_lines,
            "max_length_estimated": self.max_length_estimated,
            "duplicates": self.duplicates.to_dict(),
            "stratify_by": self.stratify_by, "strata": self.strata,
        }

    def render(self, title: str = "dataset") -> Any:
        """A compact rich renderable (imported lazily)."""
        from rich.markup import escape
        from rich.table import Table

        table = Table(title=escape(f"{title}: {self.examples} examples"), title_justify="left",
                      show_header=False, box=None, pad_edge=False)
        table.add_column(style="bold")
        table.add_column()
        row = lambda name, text: table.add_row(escape(name), escape(text))  # noqa: E731
        row("kinds", _counts(self.by_kind))
        row("messages", _counts(self.messages_by_role))
        row("turns", _dist(self.turns))
        unit = f"{self.unit} ({self.tokenizer})" if self.unit == "tokens" else self.unit
        row("length", f"{_dist(self.lengths)}  [{unit}]")
        row("completion", f"{_dist(self.completion_lengths)}  [{unit}]")
        row("total", f"{self.total_tokens:,} {self.unit}")
        if self.max_length is not None:
            row(f"> {self.max_length}", f"{self.over_max_length:,} examples"
                + (f" (tokens estimated at {CHARS_PER_TOKEN} characters each)" if self.max_length_estimated else ""))
        d = self.duplicates
        row("duplicates", f"{d.exact_duplicates:,} exact, {d.near_duplicates:,} near ({d.share:.1%})"
            + (f"; near check limited to the first {d.near_checked:,} examples (FTX_DEDUPE_MAX_MB)"
               if d.near_limited else ""))
        if d.contradictions:
            row("contradictions", f"{d.contradictions:,} prompt{'s' if d.contradictions != 1 else ''} with different answers")
        if self.strata is not None:
            row(f"by {self.stratify_by}", _counts(self.strata))
        return table


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items()) or "-"


def _dist(d: Distribution) -> str:
    if not d.count:
        return "-"
    return f"min {d.min}  mean {d.mean:.1f}  p50 {d.p50}  p90 {d.p90}  p99 {d.p99}  max {d.max}"


def _side_length(messages: Iterable["Message"], counter: TokenCounter) -> int:
    return sum(counter.count(message_text(m)) for m in messages)


def compute_stats(examples: Iterable[Example], counter: TokenCounter | None = None,
                  max_length: int | None = None, stratify_by: str | None = None,
                  index: DedupeIndex | None = None, side: int = 0) -> DatasetStats:
    """Statistics of ``examples`` in one streaming pass.

    An example's *length* is the longest sequence the model sees: every message of a chat or
    completion example; the prompt plus the longer reply of a preference pair. Its *completion*
    length covers the trained turns (assistant messages; a pair's chosen reply). ``total_tokens``
    adds every text once (both replies of a pair). ``max_length`` (tokens) counts examples longer
    than it; counting characters, tokens are estimated as characters / 4, rounded up.
    ``stratify_by`` is a dotted path into the record's extra fields (``Example.meta``); examples
    without it form their own stratum. ``index``: an empty :class:`DedupeIndex` to fill, which
    the caller keeps (the train/validation leak check continues from it instead of indexing
    the training set again). ``side``: 1 adds ``examples`` to such an index as validation
    examples, whose own duplicates are then reported from it (one index serves both sets'
    statistics and the leak check, :meth:`DedupeIndex.leaks`).
    """
    counter = counter or CharCounter()
    index = index if index is not None else DedupeIndex()
    kinds: Counter[str] = Counter()
    roles: Counter[str] = Counter()
    strata: Counter[str] = Counter()
    turns: list[int] = []
    lengths: list[int] = []
    completions: list[int] = []
    unit = getattr(counter, "unit", "tokens")
    estimated = unit == "characters" and max_length is not None
    stats = DatasetStats(tokenizer=counter.name, unit=unit, max_length=max_length, stratify_by=stratify_by,
                         max_length_estimated=estimated)
    count = counter.count
    add = index.add
    seen_roles: list[str] = []  # counted in batches (Counter.update of one list per example costs more)
    n_examples = total_tokens = 0
    plain_type = Example.completion_messages
    for example in examples:
        n_examples += 1
        kind = example.kind
        kinds[kind] += 1
        messages = example.messages
        seen_roles += [m.role for m in messages]
        if example.chosen:
            seen_roles += [m.role for m in example.chosen]
        if example.rejected:
            seen_roles += [m.role for m in example.rejected]
        if len(seen_roles) > 65_536:
            roles.update(seen_roles)
            seen_roles.clear()
        # Each message counted once: its count serves the length and, for assistant turns, the
        # completion length below.
        counts = [count(m.content or "") if m.tool_calls is None else count(message_text(m)) for m in messages]
        prompt = sum(counts)
        if kind == "preference":
            chosen = _side_length(example.chosen or (), counter)
            rejected = _side_length(example.rejected or (), counter)
            length, completion, total = prompt + max(chosen, rejected), chosen, prompt + chosen + rejected
            turns.append(len(messages) + 1)
        else:
            length = total = prompt
            if type(example).completion_messages is plain_type:
                completion = sum([n for n, m in zip(counts, messages) if m.role == "assistant"])
            else:
                completion = _side_length(example.completion_messages(), counter)
            turns.append(len(messages))
        lengths.append(length)
        completions.append(completion)
        total_tokens += total
        if max_length is not None and (-(-length // CHARS_PER_TOKEN) if estimated else length) > max_length:
            stats.over_max_length += 1
            if len(stats.over_max_length_lines) < MAX_LINES:
                stats.over_max_length_lines.append(_where(example, n_examples))
        if stratify_by:
            strata[stratum_name(*field_value(example.meta, stratify_by))] += 1
        add(example, side=side)
    roles.update(seen_roles)
    stats.examples, stats.total_tokens = n_examples, total_tokens
    stats.by_kind = dict(sorted(kinds.items()))
    stats.messages_by_role = dict(sorted(roles.items(), key=lambda kv: (-kv[1], kv[0])))
    stats.turns = Distribution.of(turns)
    stats.lengths = Distribution.of(lengths)
    stats.completion_lengths = Distribution.of(completions)
    stats.duplicates = index.report(side=side)
    if stratify_by:
        stats.strata = dict(sorted(strata.items(), key=lambda kv: (-kv[1], kv[0])))
    return stats


def _where(example: Example, number: int) -> str:
    return str(example.source) if example.source else f"example {number}"
