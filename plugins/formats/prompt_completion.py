"""Prompt/completion pairs: strings (trained without a chat template) or TRL's conversational lists."""

from __future__ import annotations

from typing import Any

from ftx.example import Example, Message
from ftx.formats import CannotConvert, DataFormat, RecordInvalid

from .messages import (assistant_turns, check_conversation, dump_messages, parse_messages,
                       text_value)


class PromptCompletionFormat(DataFormat):
    name = "prompt-completion"
    description = "prompt / completion strings, or TRL conversational prompt / completion lists"
    kind = "completion"
    keys = ("prompt", "completion")

    def parse(self, record: dict[str, Any]) -> Example:
        problems, meta = self.checked_keys(record)
        prompt, completion = record["prompt"], record["completion"]
        if isinstance(prompt, str) and isinstance(completion, str):
            p = text_value(prompt, "prompt", problems, what="prompt")
            c = text_value(completion, "completion", problems, what="completion")
            if problems:
                raise RecordInvalid(problems)
            return Example(messages=[Message(role="user", content=p), Message(role="assistant", content=c)],
                           kind="completion", meta=meta)
        if isinstance(prompt, list) and isinstance(completion, list):
            return self._conversational(prompt, completion, meta)
        for key, value in (("prompt", prompt), ("completion", completion)):
            if not isinstance(value, (str, list)):
                problems.append((key, f"{key} must be a string or a list of messages"))
        if not problems:
            problems.append(("completion", "prompt and completion must both be strings or both be message lists"))
        raise RecordInvalid(problems)

    def _conversational(self, prompt: list, completion: list, meta: dict) -> Example:
        problems: list = []
        items = parse_messages(prompt, "prompt", problems)
        answer = assistant_turns(completion, "completion", problems, allow_weight=True)
        if items is not None and answer is not None:
            whole = items + [(f"completion[{i}]", m) for i, m in enumerate(answer)]
            check_conversation(whole, "completion", problems)
        if problems or items is None or answer is None:
            raise RecordInvalid(problems)
        return Example(messages=[m for _, m in items] + answer, kind="chat", meta=meta)

    def dump(self, example: Example) -> dict[str, Any]:
        if example.kind == "preference":
            raise CannotConvert("a preference pair has no form in prompt-completion data")
        messages = example.messages
        if example.kind == "completion":
            return {"prompt": messages[0].content, "completion": messages[-1].content}
        cut = len(messages)
        while cut > 0 and messages[cut - 1].role == "assistant":
            cut -= 1
        if cut == len(messages) or cut == 0:
            raise CannotConvert("the conversation does not end with an assistant reply")
        if any(m.role == "assistant" and m.weight == 0 for m in messages[cut:]) or \
                any(m.role == "assistant" and m.weight != 0 for m in messages[:cut]):
            # prompt-completion trains only on the completion: earlier replies would drop out.
            raise CannotConvert("only the final assistant turns can be trained in prompt-completion data; "
                                "set weight 0 on earlier assistant messages to convert")
        return {"prompt": dump_messages(messages[:cut]),
                "completion": [{k: v for k, v in d.items() if k != "weight"} for d in dump_messages(messages[cut:])]}
