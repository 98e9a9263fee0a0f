"""Greedy answers to a few prompts: shown before and after training, and by ``ftx generate``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ftx.example import Example, Message

from .trl_data import prompt_of, reference_of

DEFAULT_SAMPLES = 3
MAX_NEW_TOKENS = 32


@dataclass
class Sample:
    prompt: list[Message] | str  # chat turns, or raw text for completion models/data
    reference: str | None = None

    @property
    def label(self) -> str:
        if isinstance(self.prompt, str):
            return self.prompt
        users = [m.content or "" for m in self.prompt if m.role == "user"]
        return users[-1] if users else (self.prompt[-1].content or "" if self.prompt else "")


def pick_samples(prompts: list[str], validation: list[Example], train: list[Example],
                 chat: bool, limit: int = DEFAULT_SAMPLES) -> list[Sample]:
    """The recipe's ``eval.samples`` prompts, else the first validation (or training) prompts."""
    if prompts:
        return [Sample([Message("user", p)] if chat else p) for p in prompts]
    pool = validation or train
    return [Sample(prompt_of(e), reference_of(e)) for e in pool[:limit]]


def encode_prompt(tokenizer: Any, prompt: list[Message] | str) -> dict[str, Any]:
    """Token ids for ``prompt``: through the chat template (with the generation prompt) for
    chat turns, or as plain text."""
    if isinstance(prompt, str) or not getattr(tokenizer, "chat_template", None):
        text = prompt if isinstance(prompt, str) else "\n".join(m.content or "" for m in prompt)
        return dict(tokenizer(text, return_tensors="pt"))
    messages = [{"role": m.role, "content": m.content or ""} for m in prompt]
    encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                            return_tensors="pt", return_dict=True)
    return {k: encoded[k] for k in ("input_ids", "attention_mask") if k in encoded}


def generate(model: Any, tokenizer: Any, prompt: list[Message] | str,
             max_new_tokens: int = MAX_NEW_TOKENS) -> str:
    """The model's greedy answer to ``prompt`` (decoded, special tokens dropped)."""
    import torch

    inputs = encode_prompt(tokenizer, prompt)
    device = next(model.parameters()).device
    inputs = {k: v.to(device) for k, v in inputs.items()}
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                 eos_token_id=tokenizer.eos_token_id,
                                 pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
    finally:
        model.train(was_training)
    new = out[0][inputs["input_ids"].shape[1]:]
    return tokenizer.decode(new, skip_special_tokens=True).strip()


def answer_all(model: Any, tokenizer: Any, samples: list[Sample], max_new_tokens: int = MAX_NEW_TOKENS) -> list[str]:
    return [generate(model, tokenizer, s.prompt, max_new_tokens) for s in samples]
