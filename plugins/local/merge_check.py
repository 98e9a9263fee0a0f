"""The check behind ``ftx export --merge``: do the merged and the adapter models give the same logits?

The inputs are the run's own validation prompts (the samples its summary recorded: the first
validation examples, or the recipe's ``eval.samples``), with their reference answers, tokenized
the way the run trained on them (through the chat template for chat runs). Each input runs on
its own, so no padding enters the comparison.

The tolerance scales with the size of the logits (a difference of 1e-4 means more on logits of
size 1 than on logits of size 30) and with the precision the merged weights are saved in:
rounding every weight to bfloat16 moves logits by a few tenths of a percent of their size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Allowed max |Δ logits|, as a fraction of max(1, max |logits|), per saved dtype.
RELATIVE_TOLERANCE = {"float32": 1e-4, "float16": 5e-3, "bfloat16": 3e-2}
FALLBACK_PROMPTS = ("Hello! What can you do?", "Name three colours.")
MAX_CHECK_TOKENS = 256


@dataclass
class CheckInput:
    label: str  # what to show: the prompt text
    ids: Any  # (1, n) token ids, torch.LongTensor


@dataclass
class CheckResult:
    max_abs_delta: float
    tolerance: float
    logit_scale: float  # max |logits| of the reference
    inputs: int
    tokens: int

    @property
    def ok(self) -> bool:
        # A NaN difference is a failure (NaN compares false with everything).
        return self.max_abs_delta <= self.tolerance

    def to_dict(self) -> dict[str, Any]:
        return {"max_abs_delta": self.max_abs_delta, "tolerance": self.tolerance, "logit_scale": self.logit_scale,
                "inputs": self.inputs, "tokens": self.tokens, "ok": self.ok}


def _encode(tokenizer: Any, prompt: str, reference: str | None, chat: bool) -> Any:
    if chat and getattr(tokenizer, "chat_template", None):
        messages = [{"role": "user", "content": prompt}]
        if reference:
            messages.append({"role": "assistant", "content": reference})
        encoded = tokenizer.apply_chat_template(messages, add_generation_prompt=not reference,
                                                return_tensors="pt", return_dict=True)
        ids = encoded["input_ids"]
    else:
        ids = tokenizer(prompt + (reference or ""), return_tensors="pt")["input_ids"]
    return ids[:, :MAX_CHECK_TOKENS]


def check_inputs(tokenizer: Any, samples: list[dict[str, Any]], chat: bool) -> list[CheckInput]:
    """Token ids for the run's recorded samples (prompt + reference answer), or a few generic
    prompts when the run recorded none."""
    rows = [(str(s.get("prompt") or ""), s.get("reference")) for s in samples if s.get("prompt")]
    if not rows:
        rows = [(p, None) for p in FALLBACK_PROMPTS]
    out = [CheckInput(prompt, _encode(tokenizer, prompt, reference, chat)) for prompt, reference in rows]
    return [i for i in out if i.ids.shape[1] > 0]


def logits_of(model: Any, inputs: list[CheckInput]) -> list[Any]:
    """Float32 logits on CPU for each input (the model's own device and dtype for the forward)."""
    import torch

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return [model(input_ids=i.ids.to(device)).logits.float().cpu() for i in inputs]
    finally:
        model.train(was_training)


def tolerance_for(dtype: str, scale: float, override: float | None = None) -> float:
    """The allowed max |Δ logits| for weights saved in ``dtype`` (``override``: an absolute value)."""
    if override is not None:
        return override
    return RELATIVE_TOLERANCE[dtype] * max(1.0, scale)


def compare(reference: list[Any], candidate: list[Any], inputs: list[CheckInput], dtype: str,
            override: float | None = None) -> CheckResult:
    """max |Δ logits| between two lists of per-input logits, with the tolerance it is held to."""
    delta = 0.0
    scale = 0.0
    for ref, got in zip(reference, candidate, strict=True):
        if ref.shape != got.shape:
            return CheckResult(float("inf"), tolerance_for(dtype, scale, override), scale, len(inputs),
                               sum(i.ids.shape[1] for i in inputs))
        diff = (ref - got).abs().max().item()
        delta = diff if diff != diff else max(delta, diff)  # keep a NaN: it must fail
        scale = max(scale, ref.abs().max().item())
        if delta != delta:
            break
    return CheckResult(delta, tolerance_for(dtype, scale, override), scale, len(inputs),
                       sum(i.ids.shape[1] for i in inputs))
