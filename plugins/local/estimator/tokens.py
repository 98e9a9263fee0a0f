"""Tokens a local run processes, counted with the model's own tokenizer when it is on this machine.

The tokenizer is a ``tokenizer.json`` beside the model's config (read with the ``tokenizers``
library, not transformers, so torch is never imported). Without one, a token is taken to be 4
characters. The chat template is approximated: each message adds 4 tokens (role marker, newline,
end-of-turn, newline) and each sequence 1 (BOS). Sequences are truncated at
``hyperparameters.max_length``. A preference pair is two sequences, prompt + chosen and
prompt + rejected, as DPO trains on both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from ftx.cost.tally import CHARS_PER_TOKEN

from .model_shape import ModelShape

TEMPLATE_TOKENS_PER_MESSAGE = 4
TEMPLATE_TOKENS_PER_SEQUENCE = 1


class ApproxCounter:
    """ceil(characters / 4): used when the model's tokenizer is not on this machine."""

    name = "characters/4"

    def count(self, text: str) -> int:
        return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def local_counter(shape: ModelShape | None) -> Any:
    """The model's tokenizer if its tokenizer.json is on this machine, else :class:`ApproxCounter`."""
    if shape is not None and shape.path is not None and (shape.path / "tokenizer.json").is_file():
        from ftx.data.tokens import get_counter
        from ftx.errors import FtxError

        try:
            return _Named(get_counter(str(shape.path)), f"{shape.name} tokenizer")
        except FtxError:  # the tokenizers package is not installed: approximate instead
            pass
    return ApproxCounter()


class _Named:
    """A shared (cached) counter under the name shown in the assumptions."""

    def __init__(self, counter: Any, name: str) -> None:
        self.count = counter.count
        self.name = name


def _turns(messages: Iterable[Any], counter: Any) -> int:
    return sum(TEMPLATE_TOKENS_PER_MESSAGE + counter.count(m.content or "") for m in messages)


def sequences(example: Any, counter: Any) -> list[int]:
    """Token lengths of the sequences one example trains on (before truncation)."""
    prompt = TEMPLATE_TOKENS_PER_SEQUENCE + _turns(example.messages, counter)
    if example.kind == "preference":
        return [prompt + _turns(example.chosen or (), counter), prompt + _turns(example.rejected or (), counter)]
    return [prompt]


@dataclass
class LocalTokens:
    sequences: int
    tokens: int  # per epoch, after truncation
    longest: int  # longest sequence after truncation: the padded length of the worst batch
    truncated: int  # sequences cut at max_length
    counted_with: str

    @property
    def average(self) -> float:
        return self.tokens / self.sequences if self.sequences else 0.0


def count_local(examples: Iterable[Any], counter: Any, max_length: int) -> LocalTokens:
    n = tokens = longest = truncated = 0
    for example in examples:
        for length in sequences(example, counter):
            n += 1
            kept = min(length, max_length)
            tokens += kept
            longest = max(longest, kept)
            truncated += length > max_length
    return LocalTokens(n, tokens, longest, truncated, counter.name)
