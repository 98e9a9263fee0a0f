"""TRL preference pairs: ``prompt`` (string or messages), ``chosen``, ``rejected``.

``chosen``/``rejected`` are strings or lists of assistant messages. Without ``prompt`` (TRL's
"implicit prompt"), both sides are whole conversations and their shared opening is the prompt.
"""

from __future__ import annotations

from typing import Any

from ftx.example import Example, Message
from ftx.formats import CannotConvert, DataFormat, RecordInvalid

from .messages import (assistant_turns, check_tools, dump_messages, missing, parse_messages, prompt_turns,
                       same_turns)


class PreferenceFormat(DataFormat):
    name = "preference"
    description = "TRL preference pairs: prompt, chosen, rejected"
    kind = "preference"
    keys = ("chosen", "rejected")
    optional_keys = ("prompt", "tools")

    def parse(self, record: dict[str, Any]) -> Example:
        problems, meta = self.checked_keys(record)
        tools = check_tools(record["tools"], "tools", problems) if record.get("tools") is not None else None
        if "prompt" in record:
            prompt = prompt_turns(record["prompt"], "prompt", problems)
            chosen = assistant_turns(record["chosen"], "chosen", problems)
            rejected = assistant_turns(record["rejected"], "rejected", problems)
        else:
            prompt, chosen, rejected = self._implicit(record["chosen"], record["rejected"], problems)
        if not problems and same_turns(chosen, rejected):  # type: ignore[arg-type]
            problems.append(("rejected", "rejected is identical to chosen"))
        if problems:
            raise RecordInvalid(problems)
        return Example(messages=prompt, kind="preference", chosen=chosen, rejected=rejected,  # type: ignore[arg-type]
                       tools=tools, meta=meta)

    def _implicit(self, chosen_raw: Any, rejected_raw: Any, problems: list):
        if not isinstance(chosen_raw, list) or not isinstance(rejected_raw, list):
            missing(problems, "prompt")
            return None, None, None
        chosen_items = parse_messages(chosen_raw, "chosen", problems, allow_weight=False)
        rejected_items = parse_messages(rejected_raw, "rejected", problems, allow_weight=False)
        if problems or chosen_items is None or rejected_items is None:
            return None, None, None
        chosen = [m for _, m in chosen_items]
        rejected = [m for _, m in rejected_items]
        shared = 0
        while shared < min(len(chosen), len(rejected)) and same_turns([chosen[shared]], [rejected[shared]]):
            shared += 1
        while shared and chosen[shared - 1].role == "assistant":
            shared -= 1
        if not shared:
            problems.append(("prompt", "missing required key (chosen and rejected share no opening user turn)"))
            return None, None, None
        for name, side in (("chosen", chosen), ("rejected", rejected)):
            for i, m in enumerate(side[shared:], shared):
                if m.role != "assistant":
                    problems.append((f"{name}[{i}].role", f"{name} turns after the prompt must be from the "
                                                          f"assistant, not {m.role}"))
        return chosen[:shared], chosen[shared:], rejected[shared:]

    def dump(self, example: Example) -> dict[str, Any]:
        if example.kind != "preference":
            raise CannotConvert(f"a {example.kind} example has no chosen/rejected pair")
        prompt, chosen, rejected = example.messages, example.chosen or [], example.rejected or []
        out: dict[str, Any]
        if _plain(prompt, "user") and _plain(chosen, "assistant") and _plain(rejected, "assistant"):
            out = {"prompt": prompt[0].content, "chosen": chosen[0].content, "rejected": rejected[0].content}
        else:
            out = {"prompt": dump_messages(prompt), "chosen": dump_messages(chosen),
                   "rejected": dump_messages(rejected)}
        if example.tools:
            out["tools"] = example.tools
        return out


def _plain(messages: list[Message], role: str) -> bool:
    """One turn of ``role`` with text only: writable as a plain string."""
    return len(messages) == 1 and messages[0].role == role and messages[0].to_openai() == {
        "role": role, "content": messages[0].content}
