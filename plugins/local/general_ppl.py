"""General-text perplexity before and after a run, on instructions held out of ftx:general.

A mixed or regularised recipe is about keeping general ability while learning a task: the run
summary reports the perplexity of the base model and of the fine-tuned one on
:func:`ftx.data.general.general_probe` (never replayed, so never trained on). A rise means
forgetting. It is a cheap proxy until the evaluation's forgetting check runs.
"""

from __future__ import annotations

import math
from typing import Any


def wanted(recipe: Any) -> bool:
    from ftx.data.sources import is_mixed

    return recipe.recipe.objective == "sft" and (
        is_mixed(recipe.recipe.data) or recipe.recipe.method.regularization is not None)


def probe_texts(tokenizer: Any) -> list[str]:
    from ftx.data.general import general_probe

    texts = []
    for e in general_probe():
        messages = [m.to_openai() for m in e.messages]
        if getattr(tokenizer, "chat_template", None):
            texts.append(tokenizer.apply_chat_template(messages, tokenize=False))
        else:
            texts.append("\n".join(m["content"] for m in messages))
    return texts


def perplexity(model: Any, tokenizer: Any, texts: list[str], max_length: int) -> float:
    """exp(mean token negative log-likelihood) of ``model`` over ``texts``."""
    import torch

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    nll, tokens = 0.0, 0
    with torch.no_grad():
        for text in texts:
            batch = tokenizer(text, return_tensors="pt", truncation=True, max_length=max_length,
                              add_special_tokens=False).to(device)
            n = int(batch["input_ids"].shape[1]) - 1
            if n < 1:
                continue
            out = model(**batch, labels=batch["input_ids"])
            nll += float(out.loss) * n
            tokens += n
    model.train(was_training)
    return math.exp(nll / tokens) if tokens else float("nan")
