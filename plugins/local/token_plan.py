"""The token-exact data plan: each example as the model's tokenizer and chat template render it,
which tokens are trained (the label mask), and what ``max_length`` cuts off.

An example whose trained tokens all lie past ``max_length`` teaches nothing (its loss is over
zero tokens); TRL would keep or drop such rows without a word. The local backend drops them
**with a count** and refuses the run when none is left, so ``max_length: 16`` is one clear line,
not ``num_samples=0`` from a sampler, and ``max_length: 90`` says how many examples it loses.

The masks are the ones TRL trains with: the chat template's ``{% generation %}`` spans
(``return_assistant_tokens_mask``) for chat data, the completion's tokens for prompt/completion
data, the final assistant turn when the template has no markers, ``chosen`` for preference pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .trl_data import _messages, has_generation_markers


@dataclass
class ExamplePlan:
    where: str  # file:line of the example
    tokens: int  # before truncation
    trained: int  # trained tokens before truncation
    kept: int  # trained tokens within max_length
    ids: list[int] = field(default_factory=list, repr=False)
    mask: list[int] = field(default_factory=list, repr=False)

    @property
    def truncated(self) -> bool:
        return self.kept < self.trained or len(self.ids) > 0 and self.tokens > len(self.ids)


@dataclass
class TokenPlan:
    max_length: int
    examples: list[ExamplePlan]

    @property
    def truncated(self) -> list[ExamplePlan]:
        return [e for e in self.examples if e.tokens > self.max_length]

    @property
    def empty(self) -> list[ExamplePlan]:
        """Examples with no trained token left: all masked, or all past ``max_length``."""
        return [e for e in self.examples if e.kept == 0]

    def to_dict(self) -> dict[str, Any]:
        tokens = sorted(e.tokens for e in self.examples)
        return {
            "examples": len(self.examples), "max_length": self.max_length,
            "truncated": len(self.truncated), "no_trained_tokens": len(self.empty),
            "no_trained_tokens_at": [e.where for e in self.empty[:20]],
            "tokens_per_example": {"min": tokens[0], "median": tokens[len(tokens) // 2], "max": tokens[-1]}
            if tokens else None,
            "trained_tokens_kept": sum(e.kept for e in self.examples),
            "trained_tokens_cut": sum(e.trained - e.kept for e in self.examples),
        }


def _where(example: Any) -> str:
    src = getattr(example, "source", None)
    return f"{src.file}:{src.line}" if src is not None and src.line else (src.file if src else "?")


def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _render(example: Any, tokenizer: Any) -> tuple[list[int], list[int]]:
    """(token ids, label mask) of one example as the local backend trains it."""
    if example.kind == "completion":
        prompt = "".join(m.content or "" for m in example.messages if m.role != "assistant")
        answer = "".join(m.content or "" for m in example.messages if m.role == "assistant")
        p, a = _ids(tokenizer, prompt), _ids(tokenizer, answer)
        if tokenizer.eos_token_id is not None:
            a = a + [tokenizer.eos_token_id]
        return p + a, [0] * len(p) + [1] * len(a)
    if example.kind == "preference":
        prompt, chosen = _messages(example.messages), _messages(example.chosen)
        head = tokenizer.apply_chat_template(prompt, tokenize=True, add_generation_prompt=True, return_dict=True)
        full = tokenizer.apply_chat_template(prompt + chosen, tokenize=True, return_dict=True)
        ids, n = list(full["input_ids"]), len(head["input_ids"])
        return ids, [0] * n + [1] * (len(ids) - n)
    messages = _messages(example.messages)
    if has_generation_markers(tokenizer):
        out = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True,
                                            return_assistant_tokens_mask=True, tools=example.tools or None)
        return list(out["input_ids"]), list(out["assistant_masks"])
    if messages and messages[-1]["role"] == "assistant":
        head = tokenizer.apply_chat_template(messages[:-1], tokenize=True, add_generation_prompt=True, return_dict=True)
        full = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)
        ids, n = list(full["input_ids"]), len(head["input_ids"])
        return ids, [0] * n + [1] * (len(ids) - n)
    ids = list(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"])
    return ids, [1] * len(ids)


def plan_tokens(examples: list[Any], tokenizer: Any, max_length: int, keep_ids: bool = False) -> TokenPlan:
    plans = []
    for e in examples:
        ids, mask = _render(e, tokenizer)
        plans.append(ExamplePlan(_where(e), len(ids), sum(mask), sum(mask[:max_length]),
                                 ids if keep_ids else [], mask if keep_ids else []))
    return TokenPlan(max_length, plans)


def drop_untrainable(train: list[Any], validation: list[Any], tokenizer: Any, max_length: int,
                     objective: str) -> tuple[list[Any], list[Any], list[str]]:
    """``train`` and ``validation`` without the examples that have no trained token within
    ``max_length``, and a note with the count for each that lost some; raises when no training
    example is left."""
    from ftx.errors import BackendError

    notes: list[str] = []
    kept_sets = []
    for side, examples in (("training", train), ("validation", validation)):
        if not examples:
            kept_sets.append(examples)
            continue
        plan = plan_tokens(examples, tokenizer, max_length)
        empty = {id(e) for e, p in zip(examples, plan.examples) if p.kept == 0}
        kept = [e for e in examples if id(e) not in empty]
        if len(plan.truncated):
            notes.append(f"{len(plan.truncated)} of {len(examples)} {side} examples are longer than max_length "
                         f"{max_length} tokens and are truncated")
        if empty:
            first = next(p.where for p in plan.examples if p.kept == 0)
            if side == "training" and not kept:
                raise BackendError(
                    f"none of the {len(examples)} training examples has a trained token within max_length "
                    f"{max_length} (first: {first}); raise hyperparameters.max_length "
                    f"(longest example: {max(p.tokens for p in plan.examples)} tokens)",
                    field="hyperparameters.max_length")
            notes.append(f"dropped {len(empty)} of {len(examples)} {side} examples whose trained tokens are all "
                         f"masked or past max_length {max_length} (first: {first}); `ftx data inspect` lists them")
        kept_sets.append(kept)
    return kept_sets[0], kept_sets[1], notes


def marked_text(tokenizer: Any, ids: list[int], mask: list[int], max_length: int) -> str:
    """The rendered example with trained tokens in ``[[...]]`` and the cut-off part after ``|cut|``."""
    out, run, state = [], [], None

    def flush() -> None:
        if run:
            text = tokenizer.decode(run, skip_special_tokens=False)
            out.append(f"[[{text}]]" if state else text)

    for i, (tid, m) in enumerate(zip(ids, mask)):
        if i == max_length:
            flush()
            run, state = [], None
            out.append(" |cut| ")
        if bool(m) != state:
            flush()
            run, state = [], bool(m)
        run.append(tid)
    flush()
    return "".join(out)


def describe(recipe: Any, train: list[Any], validation: list[Any], show: int = 0) -> dict[str, Any]:
    from .models import load_tokenizer, resolve_model

    tokenizer = load_tokenizer(resolve_model(recipe.model))
    max_length = recipe.recipe.hyperparameters.max_length
    out: dict[str, Any] = {"tokenizer": str(recipe.model), "max_length": max_length}
    shown: list[dict[str, Any]] = []
    for side, examples in (("train", train), ("validation", validation)):
        if not examples:
            continue
        plan = plan_tokens(examples, tokenizer, max_length, keep_ids=True)
        out[side] = plan.to_dict()
        # the examples worth a look first: those that lose trained tokens, then the rest in order
        order = sorted(range(len(plan.examples)), key=lambda i: (plan.examples[i].kept != 0,
                                                                 plan.examples[i].tokens <= max_length, i))
        for i in order[: max(0, show - len(shown))]:
            p = plan.examples[i]
            shown.append({"where": p.where, "tokens": p.tokens, "trained": p.trained, "kept": p.kept,
                          "text": marked_text(tokenizer, p.ids, p.mask, max_length)})
    out["shown"] = shown
    return out
