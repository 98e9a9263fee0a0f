"""ftx examples -> the JSONL records a Vertex AI (Gemini) tuning job trains on. Offline.

Supervised tuning: the ``gemini`` format plugin's records::

    {"systemInstruction": {"role": "system", "parts": [{"text": ...}]},          # optional
     "contents": [{"role": "user", "parts": [{"text": ...}]}, {"role": "model", ...}, ...]}

Preference tuning (Vertex's preference-optimization dataset: the prompt's turns end with a user
turn; a pair of single model turns, score 1 = preferred, 0 = dispreferred)::

    {"system_instruction": {"parts": [{"text": ...}]},                          # optional
     "contents": [{"role": "user", "parts": [{"text": ...}]}, ...],
     "completions": [{"score": 1, "completion": {"role": "model", "parts": [{"text": chosen}]}},
                     {"score": 0, "completion": {"role": "model", "parts": [{"text": rejected}]}}]}
"""

from __future__ import annotations

import json
from typing import Any

from ftx.errors import Problem

_ROLES = {"user": "user", "assistant": "model"}


class Unconvertible(ValueError):
    """An example Vertex's data format cannot express."""


def _turns(messages: list[Any]) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """(system instruction text or None, contents) of a conversation; tool turns and misplaced
    system messages have no Gemini tuning form."""
    system = None
    rest = list(messages)
    if rest and rest[0].role == "system":
        system = rest.pop(0).content or ""
    contents = []
    for m in rest:
        if m.role == "tool" or m.tool_calls:
            raise Unconvertible("tool calls cannot be represented in Vertex tuning data")
        role = _ROLES.get(m.role)
        if role is None:
            raise Unconvertible(f"a {m.role} message after the first turn has no form in Vertex tuning data")
        contents.append({"role": role, "parts": [{"text": m.content if m.content is not None else ""}]})
    return ({"parts": [{"text": system}]} if system is not None else None), contents


def preference_record(example: Any) -> dict[str, Any]:
    """A preference pair as a Vertex preference-optimization record (see the module docstring)."""
    if example.kind != "preference":
        raise Unconvertible(f"a {example.kind} example is not a preference pair")
    system, contents = _turns(example.messages)
    out: dict[str, Any] = {}
    if system is not None:
        out["system_instruction"] = system
    out["contents"] = contents
    completions = []
    for score, side, name in ((1, example.chosen, "chosen"), (0, example.rejected, "rejected")):
        turns = list(side or [])
        if len(turns) != 1 or turns[0].role != "assistant" or turns[0].tool_calls:
            raise Unconvertible(f"{name} must be exactly one assistant message (Vertex trains a single model turn)")
        completions.append({"score": score, "completion": {
            "role": "model", "parts": [{"text": turns[0].content if turns[0].content is not None else ""}]}})
    out["completions"] = completions
    return out


def convert(examples: list[Any], objective: str, problems: list[Problem]) -> list[tuple[dict[str, Any], Any]]:
    """``(record, source)`` for every example; those that cannot be converted become problems
    at their file:line."""
    from ftx.components import get_format
    from ftx.formats import CannotConvert

    gemini = get_format("gemini") if objective != "dpo" else None
    out = []
    for example in examples:
        try:
            if objective == "dpo":
                record = preference_record(example)
            else:
                if example.kind == "preference":
                    raise Unconvertible("a preference pair in supervised tuning data (objective is sft)")
                record = gemini.dump(example)  # type: ignore[union-attr]
        except (CannotConvert, Unconvertible) as exc:
            src = example.source
            kind = "preference" if objective == "dpo" else "supervised"
            problems.append(Problem(f"cannot be written as Vertex {kind} tuning data: {exc}",
                                    file=getattr(src, "file", None), line=getattr(src, "line", None)))
            continue
        out.append((record, example.source))
    return out


def jsonl(records: list[tuple[dict[str, Any], Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r, _ in records).encode()
