"""The one canonical example type every data format reads into and writes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
ROLES: tuple[str, ...] = ("system", "user", "assistant", "tool")

# What an example trains: a conversation (sft), a raw prompt/completion pair (completion,
# trained without a chat template, loss on the completion only), a preference pair, or a kind a
# format plugin adds for its objective (e.g. "unpaired": one answer labelled good or bad, for KTO).
# Objectives declare the kinds they train on (``Objective.data_kinds``).
Kind = str


@dataclass(frozen=True)
class Source:
    """Where a record came from: file and 1-based line (row for CSV/Parquet)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(slots=True)
class Message:
    role: str
    content: str | None = None
    name: str | None = None
    weight: int | None = None  # OpenAI: 0 or 1, assistant messages only
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    def to_openai(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role}
        if self.content is not None or not self.tool_calls:
            out["content"] = self.content if self.content is not None else ""
        # Spelled out rather than a getattr loop: the upload writes every message through here.
        if self.name is not None:
            out["name"] = self.name
        if self.weight is not None:
            out["weight"] = self.weight
        if self.tool_calls is not None:
            out["tool_calls"] = self.tool_calls
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


class PlainMessages(list):
    """The messages of a chat example its format found plain when it read them: only system,
    user and assistant turns of non-blank text (no name, weight, tool call), a system turn only
    first, a user turn first after it, and an assistant turn (so it is trained on). The chat
    format's parse builds it (``plain_conversation``); a ``list`` for reading.

    Later steps trust it instead of checking each message again: the chat format's dump writes
    such an example as a :class:`ftx.formats.PlainChatRecord`, and OpenAI's checks and billing
    count it without their detailed rules. Code that changes a conversation builds a new list
    (as a mix's system prompt does), which drops the mark: the list's in-place edits (append,
    ``messages[i] = ...``, sort ...) raise :class:`TypeError` here rather than leave the mark on
    messages that may no longer match it."""

    __slots__ = ()

    def __reduce__(self):  # copies and pickles are built whole, not appended to
        return (type(self), (list(self),))


def _refuse_edit(name: str):
    def edit(self, *args, **kwargs):
        raise TypeError(f"these messages are marked plain (ftx.example.PlainMessages, checked once when read) and "
                        f"are not edited in place ({name}): build a new list, e.g. list(example.messages), "
                        "and a new Example (docs/plugins.md)")
    edit.__name__ = name
    return edit


for _name in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
              "__setitem__", "__delitem__", "__iadd__", "__imul__"):
    setattr(PlainMessages, _name, _refuse_edit(_name))
del _name


@dataclass(slots=True)
class Example:
    """One training example.

    ``messages`` is the conversation (for preference data: the prompt turns). For
    ``kind == "preference"``, ``chosen`` and ``rejected`` hold the competing assistant turns.
    ``meta`` keeps the record's other top-level fields (e.g. a label to stratify by).
    """

    messages: list[Message]
    kind: Kind = "chat"
    chosen: list[Message] | None = None
    rejected: list[Message] | None = None
    tools: list[dict[str, Any]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    source: Source | None = None
    task: str | None = None  # the mix source it came from (data.train as a list, replay)

    @property
    def objective(self) -> str:
        return "dpo" if self.kind == "preference" else "sft"

    def text(self) -> str:
        """All text of the example, in order: used for lengths, hashes and dedupe."""
        parts = [m.content or "" for m in self.messages]
        for side in (self.chosen, self.rejected):
            parts.extend(m.content or "" for m in side or ())
        return "\n".join(parts)

    def completion_messages(self) -> list[Message]:
        """The turns the model learns to produce."""
        if self.kind == "preference":
            return list(self.chosen or [])
        return [m for m in self.messages if m.role == "assistant"]
