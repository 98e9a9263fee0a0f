"""L2-SP and EWC on the local backend: a penalty toward the starting weights added to the loss.

The starting weights (the base model's, or an adapter's initialisation) are copied once before
training. EWC's diagonal Fisher information is the mean squared gradient of the language-model
loss on ``fisher_examples`` examples of ``fisher_set`` (one example at a time, the empirical
Fisher), computed before training and cached in the ftx home under ``cache/ewc/``, keyed by the
model's files, the method and the set, so a second run with the same base skips it.
See :mod:`ftx.recipe.regularization` for the recipe side.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable


class Penalty:
    """``strength / 2 * sum(weight * (w - w0)^2)`` over the trained parameters."""

    def __init__(self, model: Any, strength: float, fisher: dict[str, Any] | None = None):
        self.strength = strength
        self.params = {n: p for n, p in model.named_parameters() if p.requires_grad}
        self.anchor = {n: p.detach().clone() for n, p in self.params.items()}
        self.fisher = fisher
        self.last = 0.0

    def __call__(self) -> Any:
        total = None
        for name, p in self.params.items():
            diff = (p - self.anchor[name].to(p.device, p.dtype)) ** 2
            if self.fisher is not None:
                diff = diff * self.fisher[name].to(p.device, p.dtype)
            term = diff.sum()
            total = term if total is None else total + term
        value = 0.5 * self.strength * total
        self.last = float(value.detach())
        return value

    def distance(self) -> float:
        """Euclidean distance of the trained parameters from where they started."""
        import torch

        with torch.no_grad():
            return float(sum(((p.float() - self.anchor[n].float().to(p.device)) ** 2).sum()
                             for n, p in self.params.items()) ** 0.5)


def _fisher_key(recipe: Any, spec: Any, names: list[str]) -> str:
    from .models import resolve_model

    source = str(resolve_model(recipe.model))
    stamp: list[Any] = [source, recipe.recipe.method.name, recipe.method_params.model_dump(mode="json"),
                        spec.fisher_set, spec.fisher_examples, names]
    path = Path(source)
    if path.is_dir():
        stamp += sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in path.iterdir() if f.is_file())
    return hashlib.sha256(json.dumps(stamp, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _fisher_examples(recipe: Any, spec: Any) -> list[Any]:
    from ftx.data.general import iter_general
    from ftx.data.load import iter_examples
    from ftx.data.sources import GENERAL

    if spec.fisher_set == GENERAL:
        source = iter_general()
    else:
        source = iter_examples(recipe.data_path(spec.fisher_set))
    out = []
    for example in source:
        out.append(example)
        if len(out) >= spec.fisher_examples:
            break
    return out


def estimate_fisher(model: Any, tokenizer: Any, examples: list[Any], names: list[str], max_length: int) -> dict:
    """Diagonal empirical Fisher: mean over ``examples`` of the squared gradient of the loss."""
    import torch

    params = dict(model.named_parameters())
    fisher = {n: torch.zeros_like(params[n], dtype=torch.float32) for n in names}
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    for example in examples:
        text = "\n".join(m.content or "" for m in example.messages + list(example.chosen or []))
        batch = tokenizer(text, return_tensors="pt", truncation=True, max_length=max_length).to(device)
        model.zero_grad(set_to_none=True)
        out = model(**batch, labels=batch["input_ids"])
        out.loss.backward()
        for n in names:
            if params[n].grad is not None:
                fisher[n] += params[n].grad.detach().float() ** 2
    model.zero_grad(set_to_none=True)
    model.train(was_training)
    return {n: f / max(len(examples), 1) for n, f in fisher.items()}


def fisher_for(recipe: Any, model: Any, tokenizer: Any, echo: Callable[[str], None]) -> tuple[dict, bool]:
    """(Fisher per trained parameter, whether it came from the cache)."""
    import torch

    from ftx.home import ftx_home

    spec = recipe.recipe.method.regularization
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    path = ftx_home() / "cache" / "ewc" / f"{_fisher_key(recipe, spec, names)}.pt"
    if path.is_file():
        return torch.load(path, map_location="cpu"), True
    examples = _fisher_examples(recipe, spec)
    echo(f"ewc: estimating the Fisher information on {len(examples)} examples of {spec.fisher_set}")
    fisher = estimate_fisher(model, tokenizer, examples, names, recipe.recipe.hyperparameters.max_length)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({n: f.cpu() for n, f in fisher.items()}, tmp)
    tmp.replace(path)
    return fisher, False


def attach(trainer: Any, recipe: Any, tokenizer: Any, echo: Callable[[str], None]) -> Penalty | None:
    """Add the recipe's regularisation to ``trainer``'s loss; None when the recipe sets none."""
    spec = recipe.recipe.method.regularization
    if spec is None:
        return None
    model = trainer.model
    fisher = None
    if spec.kind == "ewc":
        fisher, cached = fisher_for(recipe, model, tokenizer, echo)
        if cached:
            echo("ewc: Fisher information from the cache")
    penalty = Penalty(model, spec.strength, fisher)
    compute_loss = trainer.compute_loss

    def regularized(model, inputs, return_outputs=False, **kwargs):
        out = compute_loss(model, inputs, return_outputs=return_outputs, **kwargs)
        if not model.training:  # evaluation (prediction_step) reports the plain loss
            return out
        if return_outputs:
            loss, outputs = out
            return loss + penalty(), outputs
        return out + penalty()

    trainer.compute_loss = regularized
    return penalty
