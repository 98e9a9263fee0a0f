"""Checks of OpenAI-shaped tuning records, which several open-weight services read as they are.

``{"messages": [...]}`` for SFT and ``{"input": {"messages": [...]}, "preferred_output": [...],
"non_preferred_output": [...]}`` for DPO (Together AI, Fireworks AI). Checked at the user's
file:line: roles, non-empty text, something to learn (an assistant turn), one assistant turn per
preference side, and the model's sequence limit (characters / 4).
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import Problem
from ..preflight import Checked, RecordCheck

ROLES = ("system", "user", "assistant", "tool")
MIN_EXAMPLES = 1


def _messages(messages: Any, where: str, rec: RecordCheck) -> list[str]:
    if not isinstance(messages, list) or not messages:
        rec.bad(where, "messages must be a non-empty list")
        return []
    roles = []
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role not in ROLES:
            rec.bad(f"{where}[{i}].role", f"role must be one of {', '.join(ROLES)}, not {role!r}")
            continue
        if not isinstance(m.get("content"), str) or not m["content"].strip():
            rec.bad(f"{where}[{i}].content", "content must be a non-empty string")
        roles.append(role)
    return roles


def check_chat_records(recipe: Any, records: list[tuple[dict[str, Any], Any]], *, file: str, role: str,
                       limit: int | None, label: str) -> Checked:
    """Problems (with file:line) and tokens (characters / 4) of one file's records."""
    out = Checked()
    if role == "train" and len(records) < MIN_EXAMPLES:
        out.problems.append(Problem(f"{label} needs at least one training example", file=file))
    for record, source in records:
        rec = RecordCheck(getattr(source, "file", file), getattr(source, "line", None), out.problems)
        if recipe.recipe.objective == "dpo":
            _messages((record.get("input") or {}).get("messages"), "input.messages", rec)
            for side in ("preferred_output", "non_preferred_output"):
                value = record.get(side)
                if not isinstance(value, list) or len(value) != 1 or _messages(value, side, rec) != ["assistant"]:
                    rec.bad(side, f"{side} must be a list of exactly one assistant message")
        elif "assistant" not in _messages(record.get("messages"), "messages", rec):
            rec.bad("messages", "no assistant message: nothing for the model to learn")
        if not rec.ok:
            continue
        tokens = math.ceil(len(json.dumps(record, ensure_ascii=False)) / 4)
        if limit and tokens > limit:
            rec.bad(None, f"example is about {tokens:,} tokens; {recipe.model} trains on at most {limit:,}")
            continue
        out.tokens.append(tokens)
    return out
