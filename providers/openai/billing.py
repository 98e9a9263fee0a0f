"""How OpenAI counts and bills training tokens (pure logic; the counter is passed in).

Each example is counted the way OpenAI's cookbook counts a chat (``num_tokens_from_messages``):
per message 3 tokens of formatting, plus the tokens of its role and of every text field (content,
name + 1, tool_call_id, tool calls as compact JSON), plus 3 tokens priming the reply; tool
definitions are counted as compact JSON. An example longer than the model's per-example limit is
truncated there, so it bills at most the limit. Billable tokens = epochs x sum(min(tokens, limit)).
"""

from __future__ import annotations

from typing import Any, Iterable

from ftx.cost.tally import CachedCounter, Counter, TokenTally, compact, example_messages, tally
from ftx.example import PlainMessages

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


def openai_message_tokens(message: Any, counter: Counter | CachedCounter) -> int:
    c = counter if isinstance(counter, CachedCounter) else CachedCounter(counter)
    content = c.short(message.content) if message.role == "system" else c.count(message.content)
    n = TOKENS_PER_MESSAGE + c.short(message.role) + content
    if message.name:
        n += c.count(message.name) + TOKENS_PER_NAME
    if message.tool_call_id:
        n += c.count(message.tool_call_id)
    if message.tool_calls:
        n += c.count(compact(message.tool_calls))
    return n


def openai_example_tokens(example: Any, counter: Counter | CachedCounter) -> int:
    """Tokens of one example as OpenAI counts it (see the module docstring)."""
    c = counter if isinstance(counter, CachedCounter) else CachedCounter(counter)
    n = REPLY_PRIMING + sum(openai_message_tokens(m, c) for m in example_messages(example))
    if example.tools:
        n += c.count(compact(example.tools))
    return n


def openai_tally(examples: Iterable[Any], counter: Counter, limit: int | None) -> TokenTally:
    c = CachedCounter(counter)
    count = counter.count
    framing = {role: TOKENS_PER_MESSAGE + c.short(role) for role in ("system", "user", "assistant")}
    per_example = []
    for e in examples:
        messages = e.messages
        if type(messages) is PlainMessages and not e.tools and not e.chosen and not e.rejected:
            n = REPLY_PRIMING  # every text non-blank, no names or tool calls: the sum straight
            for m in messages:
                n += framing[m.role] + count(m.content)
        else:
            n = _example_tokens(e, c, count, framing)
        per_example.append(n)
    return tally(per_example, limit)


def _example_tokens(example: Any, c: CachedCounter, count: Any, framing: dict[str, int]) -> int:
    """:func:`openai_example_tokens` with the framing of each role worked out once per tally:
    a role-and-text message costs TOKENS_PER_MESSAGE + the role's tokens (``framing``) + its
    text's; ``c.short`` and ``c.count`` both answer ``count(text)`` for a non-empty text."""
    if example.chosen or example.rejected or example.tools:
        return openai_example_tokens(example, c)
    n = REPLY_PRIMING
    for m in example.messages:
        if m.name is None and m.tool_call_id is None and m.tool_calls is None:
            frame = framing.get(m.role)
            if frame is None:
                frame = framing[m.role] = TOKENS_PER_MESSAGE + c.short(m.role)
            n += frame + (count(m.content) if m.content else 0)
        else:
            n += openai_message_tokens(m, c)
    return n
