"""How hosted providers count and bill training tokens (pure logic; counters are passed in).

OpenAI (``openai_*``): each example is counted the way OpenAI's cookbook counts a chat
(``num_tokens_from_messages``): per message 3 tokens of formatting, plus the tokens of its role
and of every text field (content, name + 1, tool_call_id, tool calls as compact JSON), plus 3
tokens priming the reply; tool definitions are counted as compact JSON. An example longer than
the model's per-example limit is truncated there, so it bills at most the limit. Billable
tokens = epochs x sum(min(example tokens, limit)).

Vertex (``vertex_*``): Gemini's tokenizer is not available offline, so an example counts
ceil(characters / 4) tokens (Google's documented rule of thumb of ~4 characters per token),
over the text of all its turns.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3

# OpenAI's default-epoch heuristic (openai-cookbook, "Chat_finetuning_data_prep"): aim at 3
# epochs, but keep examples x epochs within [100, 25000] by integer division, clamped to 1..25.
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25

CHARS_PER_TOKEN = 4


class Counter(Protocol):
    name: str

    def count(self, text: str) -> int: ...


def openai_auto_epochs(n_examples: int) -> int:
    """Epochs OpenAI picks for ``n_epochs: auto`` on ``n_examples`` training examples:
    3, unless 3 x n < 100 (then min(25, 100 // n)) or 3 x n > 25,000 (then max(1, 25,000 // n))."""
    if n_examples <= 0:
        return TARGET_EPOCHS
    if n_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_examples)
    if n_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_examples)
    return TARGET_EPOCHS


class _Cached:
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


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def openai_message_tokens(message: Any, counter: Counter | _Cached) -> int:
    c = counter if isinstance(counter, _Cached) else _Cached(counter)
    content = c.short(message.content) if message.role == "system" else c.count(message.content)
    n = TOKENS_PER_MESSAGE + c.short(message.role) + content
    if message.name:
        n += c.count(message.name) + TOKENS_PER_NAME
    if message.tool_call_id:
        n += c.count(message.tool_call_id)
    if message.tool_calls:
        n += c.count(_compact(message.tool_calls))
    return n


def example_messages(example: Any) -> list[Any]:
    """Every turn an example sends: the conversation, then both sides of a preference pair."""
    return [*example.messages, *(example.chosen or ()), *(example.rejected or ())]


def openai_example_tokens(example: Any, counter: Counter | _Cached) -> int:
    """Tokens of one example as OpenAI counts it (see the module docstring)."""
    c = counter if isinstance(counter, _Cached) else _Cached(counter)
    n = REPLY_PRIMING + sum(openai_message_tokens(m, c) for m in example_messages(example))
    if example.tools:
        n += c.count(_compact(example.tools))
    return n


def chars_tokens(text: str, chars_per_token: float = CHARS_PER_TOKEN) -> int:
    """ceil(characters / 4): Google's rule of thumb for Gemini tokens."""
    return math.ceil(len(text) / chars_per_token)


def vertex_example_tokens(example: Any, chars_per_token: float = CHARS_PER_TOKEN) -> int:
    text = "".join(m.content or "" for m in example_messages(example))
    if example.tools:
        text += _compact(example.tools)
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
    t = TokenTally(limit=limit)
    for n in per_example:
        t.examples += 1
        t.tokens += n
        t.capped += min(n, limit) if limit else n
        t.over_limit += 1 if limit and n > limit else 0
        t.longest = max(t.longest, n)
        t.per_example.append(n)
    return t


def openai_tally(examples: Iterable[Any], counter: Counter, limit: int | None) -> TokenTally:
    c = _Cached(counter)
    return tally((openai_example_tokens(e, c) for e in examples), limit)


def vertex_tally(examples: Iterable[Any], limit: int | None,
                 chars_per_token: float = CHARS_PER_TOKEN) -> TokenTally:
    return tally((vertex_example_tokens(e, chars_per_token) for e in examples), limit)
