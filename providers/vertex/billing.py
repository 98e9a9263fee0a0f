"""How Vertex AI's Gemini tuning is counted offline: Gemini's tokenizer is not available without
the network, so an example counts ceil(characters / 4) tokens (Google's documented rule of thumb
of ~4 characters per token) over the text of all its turns."""

from __future__ import annotations

from typing import Any, Iterable

from ftx.cost.tally import CHARS_PER_TOKEN, TokenTally, chars_tally, example_chars_tokens


def vertex_example_tokens(example: Any, chars_per_token: float = CHARS_PER_TOKEN) -> int:
    return example_chars_tokens(example, chars_per_token)


def vertex_tally(examples: Iterable[Any], limit: int | None, chars_per_token: float = CHARS_PER_TOKEN) -> TokenTally:
    return chars_tally(examples, limit, chars_per_token)
