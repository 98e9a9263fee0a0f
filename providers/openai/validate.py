"""OpenAI's rules for fine-tuning files, checked on the exact records ftx would upload.

Every problem is reported with the file:line the record came from, so a user fixes their own
data, not ftx's converted copy. Rules follow OpenAI's fine-tuning guides and its data-format
validation cookbook: at least 10 training examples; known roles and keys; something for the
model to learn (an assistant turn whose weight is not 0); ``weight`` 0/1 on assistant turns
only; well-formed tool calls answered by tool messages; DPO pairs of one assistant turn each;
and no example over the model's per-example token limit, counted with its own tokenizer.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

from ftx.errors import Problem
from ftx.preflight import Checked, RecordCheck

MIN_EXAMPLES = 10
ROLES = ("system", "user", "assistant", "tool")
# What OpenAI accepts for a participant's name (the API answers "string does not match pattern").
NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_PLAIN_ROLES = frozenset(r for r in ROLES if r != "tool")
MESSAGE_KEYS = {"role", "content", "name", "weight", "tool_calls", "tool_call_id"}
SFT_KEYS = {"messages", "tools", "parallel_tool_calls"}
DPO_KEYS = {"input", "preferred_output", "non_preferred_output"}
# OpenAI's chat accounting (cookbook "How to count tokens"): framing per message and per reply.
PER_MESSAGE, PER_REPLY, PER_NAME = 3, 3, 1


def _check_tool_calls(calls: Any, where: str, rec: RecordCheck) -> list[str]:
    names: list[str] = []
    if not isinstance(calls, list) or not calls:
        rec.bad(where, "tool_calls must be a non-empty list")
        return names
    for j, call in enumerate(calls):
        at = f"{where}[{j}]"
        if not isinstance(call, dict):
            rec.bad(at, "a tool call must be an object")
            continue
        if not isinstance(call.get("id"), str) or not call["id"]:
            rec.bad(f"{at}.id", "a tool call needs an id")
        if call.get("type") != "function":
            rec.bad(f"{at}.type", "OpenAI fine-tuning supports only tool calls of type 'function'")
        fn = call.get("function")
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            rec.bad(f"{at}.function.name", "a tool call needs a function name")
            continue
        names.append(fn["name"])
        args = fn.get("arguments")
        if not isinstance(args, str):
            rec.bad(f"{at}.function.arguments", "arguments must be a JSON string")
        else:
            try:
                json.loads(args)
            except json.JSONDecodeError as exc:
                rec.bad(f"{at}.function.arguments", f"arguments is not valid JSON: {exc.msg}")
    return names


def _check_message(m: Any, where: str, rec: RecordCheck, *, weight_ok: bool) -> str | None:
    """Check one message; return its role when usable."""
    # Fast path: a role (not tool, which needs a tool_call_id) and a non-blank text, nothing
    # else, has nothing to report (tests/providers/openai/test_check_fast_path.py: same results).
    if type(m) is dict and len(m) == 2:
        role, content = m.get("role"), m.get("content")
        if type(role) is str and role in _PLAIN_ROLES and type(content) is str and content.strip():
            return role
    if not isinstance(m, dict):
        rec.bad(where, "a message must be an object")
        return None
    for key in sorted(set(m) - MESSAGE_KEYS):
        rec.bad(f"{where}.{key}", f"OpenAI does not accept the message key {key!r}")
    role = m.get("role")
    if role not in ROLES:
        rec.bad(f"{where}.role", f"role must be one of {', '.join(ROLES)}, not {role!r}")
        role = None
    content, calls = m.get("content"), m.get("tool_calls")
    if calls is not None and role != "assistant":
        rec.bad(f"{where}.tool_calls", "only assistant messages may hold tool_calls")
    if content is None:
        if not (role == "assistant" and calls):
            rec.bad(f"{where}.content", "content is missing (only an assistant tool call may omit it)")
    elif not isinstance(content, str):
        rec.bad(f"{where}.content", "content must be a string")
    elif not content.strip() and not calls:
        rec.bad(f"{where}.content", "content is empty")
    if "weight" in m:
        if not weight_ok:
            rec.bad(f"{where}.weight", "weight is not allowed here")
        elif role != "assistant":
            rec.bad(f"{where}.weight", "weight is only allowed on assistant messages")
        elif isinstance(m["weight"], bool) or m["weight"] not in (0, 1):
            rec.bad(f"{where}.weight", f"weight must be 0 or 1, not {m['weight']!r}")
    if role == "tool" and (not isinstance(m.get("tool_call_id"), str) or not m["tool_call_id"]):
        rec.bad(f"{where}.tool_call_id", "a tool message needs the tool_call_id it answers")
    elif role != "tool" and "tool_call_id" in m:
        rec.bad(f"{where}.tool_call_id", "tool_call_id is only allowed on tool messages")
    if "name" in m and (not isinstance(m["name"], str) or not m["name"].strip()):
        rec.bad(f"{where}.name", "name must be a non-empty string")
    elif "name" in m and not NAME_PATTERN.fullmatch(m["name"]):
        rec.bad(f"{where}.name", f"name {m['name'][:40]!r} must be 1-64 letters, digits, _ or - "
                                 "(OpenAI refuses other names)")
    return role


def _check_conversation(messages: Any, where: str, rec: RecordCheck, tools: set[str] | None, *,
                        weight_ok: bool) -> list[str | None]:
    if not isinstance(messages, list) or not messages:
        rec.bad(where, "messages must be a non-empty list")
        return []
    roles: list[str | None] = []
    pending: dict[str, str] = {}  # tool call id -> where it was made
    for i, m in enumerate(messages):
        at = f"{where}[{i}]"
        role = _check_message(m, at, rec, weight_ok=weight_ok)
        roles.append(role)
        if role is None:
            continue
        if role == "tool":
            call_id = m.get("tool_call_id")
            if isinstance(call_id, str) and call_id and call_id not in pending:
                rec.bad(f"{at}.tool_call_id", f"tool_call_id {call_id!r} answers no earlier tool call")
            pending.pop(call_id, None)
            continue
        if pending and i > 0:
            rec.bad(at, f"tool call(s) {', '.join(sorted(pending))} made at {next(iter(pending.values()))} "
                        "get no tool message before the conversation goes on")
            pending.clear()
        if role == "system" and i > 0:
            rec.bad(f"{at}.role", "a system message must come first")
        if role == "assistant" and m.get("tool_calls"):
            for name in _check_tool_calls(m["tool_calls"], f"{at}.tool_calls", rec):
                if tools is not None and name not in tools:
                    rec.bad(f"{at}.tool_calls", f"calls function {name!r}, which the example's tools do not define")
            for call in m["tool_calls"] if isinstance(m["tool_calls"], list) else ():
                if isinstance(call, dict) and isinstance(call.get("id"), str):
                    pending[call["id"]] = at
    return roles


def _tool_names(tools: Any, where: str, rec: RecordCheck) -> set[str] | None:
    if tools is None:
        return None
    if not isinstance(tools, list):
        rec.bad(where, "tools must be a list")
        return None
    names: set[str] = set()
    for i, tool in enumerate(tools):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(fn, dict) \
                or not isinstance(fn.get("name"), str) or not fn["name"]:
            rec.bad(f"{where}[{i}]", "a tool must be {type: function, function: {name, parameters}}")
            continue
        names.add(fn["name"])
    return names


def count_tokens(messages: list[Any], count: Callable[[str], int], tools: Any = None) -> int:
    """Tokens of a conversation as OpenAI counts chat input (framing included)."""
    total = PER_REPLY
    for m in messages:
        if not isinstance(m, dict):
            continue
        total += PER_MESSAGE + count(str(m.get("role") or "")) + count(m.get("content") or "")
        if m.get("name"):
            total += PER_NAME + count(str(m["name"]))
        if m.get("tool_calls"):
            total += count(json.dumps(m["tool_calls"], ensure_ascii=False))
    if tools:
        total += count(json.dumps(tools, ensure_ascii=False))
    return total


def check_sft(record: dict[str, Any], rec: RecordCheck) -> list[dict[str, Any]]:
    for key in sorted(set(record) - SFT_KEYS):
        rec.bad(key, f"OpenAI chat fine-tuning files do not accept the key {key!r}")
    tools = _tool_names(record.get("tools"), "tools", rec)
    messages = record.get("messages")
    roles = _check_conversation(messages, "messages", rec, tools, weight_ok=True)
    if rec.ok and roles:
        learnable = [m for m, r in zip(messages, roles, strict=False) if r == "assistant" and m.get("weight", 1) != 0]
        if "assistant" not in roles:
            rec.bad("messages", "no assistant message: nothing for the model to learn")
        elif not learnable:
            rec.bad("messages", "every assistant message has weight 0: nothing for the model to learn")
    return messages if isinstance(messages, list) else []


def check_dpo(record: dict[str, Any], rec: RecordCheck) -> list[dict[str, Any]]:
    for key in sorted(set(record) - DPO_KEYS):
        rec.bad(key, f"OpenAI DPO files do not accept the key {key!r}")
    prompt = record.get("input")
    if not isinstance(prompt, dict):
        rec.bad("input", "input must be an object holding the prompt messages")
        return []
    tools = _tool_names(prompt.get("tools"), "input.tools", rec)
    roles = _check_conversation(prompt.get("messages"), "input.messages", rec, tools, weight_ok=False)
    if roles and roles[-1] is not None and roles[-1] not in ("user", "tool"):
        rec.bad("input.messages", f"the prompt must end with a user message, not {roles[-1]}")
    sides = []
    for side in ("preferred_output", "non_preferred_output"):
        out = record.get(side)
        if not isinstance(out, list) or len(out) != 1:
            rec.bad(side, f"{side} must be a list of exactly one assistant message")
            continue
        if _check_message(out[0], f"{side}[0]", rec, weight_ok=False) not in (None, "assistant"):
            rec.bad(f"{side}[0].role", f"{side} must be an assistant message")
        sides.append(out[0])
    if len(sides) == 2 and sides[0] == sides[1]:
        rec.bad("non_preferred_output", "the preferred and non-preferred outputs are identical: nothing to learn")
    return list(prompt.get("messages") or []) if isinstance(prompt.get("messages"), list) else []


def check_file(records: list[tuple[dict[str, Any], Any]], objective: str, count: Callable[[str], int],
               limit: int | None, model: str, *, file: str, minimum: int = 0) -> Checked:
    """Check converted records ``(record, source)``; ``source`` has ``.file``/``.line`` or is None."""
    from ftx.formats import PlainChatRecord

    out = Checked()
    plain = objective != "dpo"
    framing = {role: PER_MESSAGE + count(role) for role in _PLAIN_ROLES}  # the per-message part of count_tokens
    if len(records) < minimum:
        out.problems.append(Problem(f"OpenAI needs at least {minimum} training examples; this file has "
                                    f"{len(records)} (50 to 100 good examples is a sensible start)", file=file))
    for record, source in records:
        if plain and type(record) is PlainChatRecord:  # nothing check_sft could say: count_tokens, inline
            tokens = PER_REPLY
            for m in record["messages"]:
                tokens += framing[m["role"]] + count(m["content"])
            if limit is None or tokens <= limit:
                out.tokens.append(tokens)
                continue
        rec = RecordCheck(getattr(source, "file", file), getattr(source, "line", None), out.problems)
        if objective == "dpo":
            prompt = check_dpo(record, rec)
            if not rec.ok:
                continue
            tools = (record.get("input") or {}).get("tools")
            tokens = max(count_tokens(prompt + record[side], count, tools)
                         for side in ("preferred_output", "non_preferred_output"))
        else:
            messages = check_sft(record, rec)
            if not rec.ok:
                continue
            tokens = count_tokens(messages, count, record.get("tools"))
        if limit is not None and tokens > limit:
            rec.bad(None, f"example is {tokens:,} tokens; {model} takes at most {limit:,} per training "
                          "example (OpenAI would truncate it)")
            continue
        out.tokens.append(tokens)
    return out
