"""Canonical :class:`~ftx.example.Example` lists -> the dataset shapes TRL trains on.

* chat examples -> conversational ``messages``; the loss covers assistant turns only when the
  tokenizer's chat template marks them with ``{% generation %}`` (TRL ``assistant_only_loss``).
  Without the markers, conversations that end with an assistant turn become conversational
  ``prompt``/``completion`` pairs, so the loss still covers only the final answer;
* completion examples -> plain-text ``prompt``/``completion`` (no chat template, loss on the
  completion only);
* preference examples -> ``prompt``/``chosen``/``rejected`` conversations for DPO.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ftx.eval.testset import prompt_of as eval_prompt_of, reference_of  # noqa: F401 (re-exported)
from ftx.errors import BackendError
from ftx.example import Example, Message

GENERATION_MARKER = re.compile(r"{%-?\s*generation\s*-?%}")


@dataclass
class TrlData:
    train: Any  # datasets.Dataset
    eval: Any | None
    loss: str  # "assistant-only", "completion-only", "final-answer-only" or "all tokens"
    conversational: bool
    notes: list[str] = field(default_factory=list)
    eval_tasks: list[str | None] = field(default_factory=list)  # task of each validation row (a mix)


def has_generation_markers(tokenizer: Any) -> bool:
    template = getattr(tokenizer, "chat_template", None)
    if isinstance(template, dict):
        template = template.get("default")
    return bool(template) and bool(GENERATION_MARKER.search(template))


def _message(m: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": m.role, "content": m.content or ""}
    if m.tool_calls:
        out["tool_calls"] = m.tool_calls
    if m.tool_call_id:
        out["tool_call_id"] = m.tool_call_id
    if m.name:
        out["name"] = m.name
    return out


def _messages(ms: list[Message] | None) -> list[dict[str, Any]]:
    return [_message(m) for m in ms or ()]


def _kinds(examples: list[Example]) -> set[str]:
    return {e.kind for e in examples}


def shaped_rows(examples: list[Example], mode: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for e in examples:
        if mode == "preference":
            rows.append({"prompt": _messages(e.messages), "chosen": _messages(e.chosen),
                         "rejected": _messages(e.rejected)})
        elif mode == "completion":
            rows.append({"prompt": "".join(m.content or "" for m in e.messages if m.role != "assistant"),
                         "completion": "".join(m.content or "" for m in e.messages if m.role == "assistant")})
        elif mode == "final-answer":
            rows.append({"prompt": _messages(e.messages[:-1]), "completion": _messages(e.messages[-1:])})
        else:
            row: dict[str, Any] = {"messages": _messages(e.messages)}
            if e.tools:
                row["tools"] = e.tools
            rows.append(row)
    return rows


def pair_mode(examples: list[Example], objective: str) -> tuple[str, str]:
    """Row shape and loss description of a preference-pair objective (DPO, ORPO)."""
    if _kinds(examples) != {"preference"}:
        raise BackendError(f"objective {objective} needs preference pairs (prompt, chosen, rejected) in every example")
    return "preference", f"preference ({objective.upper()})"


def sft_mode(examples: list[Example], tokenizer: Any, notes: list[str]) -> tuple[str, str]:
    """(row shape, loss description) of supervised fine-tuning on this data and tokenizer."""
    kinds = _kinds(examples)
    if "preference" in kinds:
        raise BackendError("objective sft cannot train on preference pairs; set objective: dpo")
    if kinds == {"completion"}:
        return "completion", "completion-only"
    if kinds != {"chat"}:
        raise BackendError("the local backend trains one kind of example per run; the data mixes "
                           "chat conversations with prompt/completion pairs")
    if not getattr(tokenizer, "chat_template", None):
        raise BackendError("the model's tokenizer has no chat template, so it cannot train on chat "
                           "conversations", hint="use prompt/completion data, or a model with a chat template")
    if has_generation_markers(tokenizer):
        return "messages", "assistant-only"
    if all(e.messages and e.messages[-1].role == "assistant" for e in examples):
        notes.append("the chat template has no {% generation %} markers: the loss covers each "
                     "conversation's final assistant turn only (earlier turns are context)")
        return "final-answer", "final-answer-only"
    notes.append("the chat template has no {% generation %} markers and some conversations do not end "
                 "with an assistant turn: the loss covers every token")
    return "messages", "all tokens"


def build_datasets(train: list[Example], validation: list[Example], objective: Any, tokenizer: Any) -> TrlData:
    """TRL-ready datasets for ``train`` and ``validation`` (``eval`` is None without validation
    data); ``objective`` is a registered objective's name (or its local training)."""
    from datasets import Dataset

    from .objectives import local_training

    if not train:
        raise BackendError("no training examples")
    training = local_training(objective)
    notes: list[str] = []
    mode, loss = training.mode(train + validation, tokenizer, notes)
    if any(m.weight == 0 for e in train for m in e.messages):
        notes.append("per-message weights are ignored by the local backend: every assistant turn is trained")
    return TrlData(
        train=Dataset.from_list(training.rows(train, mode)),
        eval=Dataset.from_list(training.rows(validation, mode)) if validation else None,
        loss=loss, conversational=training.conversational(mode), notes=notes,
        eval_tasks=[getattr(e, "task", None) for e in validation])


def prompt_of(example: Example) -> list[Message] | str:
    """What the model is asked: the turns before the first assistant answer (chat), the raw prompt
    text (completion), or a preference pair's prompt turns."""
    if example.kind == "preference":
        return list(example.messages)
    return eval_prompt_of(example)
