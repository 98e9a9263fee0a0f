"""Token tallies of a dataset against a per-example limit (pure logic; counters are passed in).

How each provider counts an example lives with the provider (``ftx.providers.openai.billing``,
``ftx.providers.vertex.billing``); what they share is here: the tally, the rule of thumb of
ceil(characters / 4) for tokenizers that are not available offline, and a counter cache.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

CHARS_PER_TOKEN = 4


class Counter(Protocol):
    name: str

    def count(self, text: str) -> int: ...


class CachedCounter:
    """Counts repeated strings once: roles, and system prompts (a dataset usually repeats one
    system prompt in every example). At most ``MEMO_LIMIT`` distinct strings are remembered."""

    MEMO_LIMIT = 10_000

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.memo: dict[str, int] = {}

    def short(self, text: str | None) -> int:
        if not text:
            return 0
        n = self.memo.get(text)
        if n is None:
            n = self.counter.count(text)
            if len(self.memo) < self.MEMO_LIMIT:
                self.memo[text] = n
        return n

    def count(self, text: str | None) -> int:
        return self.counter.count(text) if text else 0


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def example_messages(example: Any) -> list[Any]:
    """Every turn an example sends: the conversation, then both sides of a preference pair."""
    return [*example.messages, *(example.chosen or ()), *(example.rejected or ())]


def chars_tokens(text: str, chars_per_token: float = CHARS_PER_TOKEN) -> int:
    """ceil(characters / 4): the usual rule of thumb where the tokenizer is not available offline."""
    return math.ceil(len(text) / chars_per_token)


def example_chars_tokens(example: Any, chars_per_token: float = CHARS_PER_TOKEN) -> int:
    """ceil(characters / 4) over the text of every turn of an example (and its tools)."""
    text = "".join(m.content or "" for m in example_messages(example))
    if example.tools:
        text += compact(example.tools)
    return chars_tokens(text, chars_per_token)


@dataclass
class TokenTally:
    """Token counts of a dataset against a per-example limit."""

    examples: int = 0
    tokens: int = 0  # uncapped
    capped: int = 0  # sum(min(tokens, limit)): what one epoch bills
    over_limit: int = 0
    longest: int = 0
    limit: int | None = None
    per_example: list[int] = field(default_factory=list, repr=False)

    def billable(self, epochs: float) -> int:
        return int(round(self.capped * epochs))


def tally(per_example: Iterable[int], limit: int | None) -> TokenTally:
    counts = list(per_example)
    t = TokenTally(limit=limit, per_example=counts)
    t.examples = len(counts)
    t.tokens = t.capped = sum(counts)
    t.longest = max(counts, default=0)
    if limit and t.longest > limit:
        over = [n for n in counts if n > limit]
        t.over_limit = len(over)
        t.capped -= sum(over) - limit * len(over)
    return t


def chars_tally(examples: Iterable[Any], limit: int | None, chars_per_token: float = CHARS_PER_TOKEN) -> TokenTally:
    return tally((example_chars_tokens(e, chars_per_token) for e in examples), limit)
