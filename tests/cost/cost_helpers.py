"""Small builders shared by the cost tests."""

from __future__ import annotations

from ftx.example import Example, Message


class WordCounter:
    """A deterministic stand-in tokenizer: one token per whitespace-separated word."""

    name = "words"

    def count(self, text: str) -> int:
        return len(text.split())


def chat(*turns: str, system: str | None = None, **kw) -> Example:
    """chat("hi there", "hello") -> user/assistant alternating turns."""
    messages = [Message("system", system)] if system else []
    roles = ("user", "assistant")
    messages += [Message(roles[i % 2], text) for i, text in enumerate(turns)]
    return Example(messages=messages, **kw)


def pair(prompt: str, chosen: str, rejected: str) -> Example:
    return Example(messages=[Message("user", prompt)], kind="preference",
                   chosen=[Message("assistant", chosen)], rejected=[Message("assistant", rejected)])
