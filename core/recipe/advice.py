"""Warnings from fine-tuning practice about a resolved recipe's settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import Problem
from .yamlmap import problem_at

if TYPE_CHECKING:  # pragma: no cover
    from .resolve import ResolvedRecipe


def recipe_advice(r: "ResolvedRecipe") -> list[Problem]:
    hp = r.recipe.hyperparameters
    out: list[Problem] = []

    def warn(path: str, message: str) -> None:
        out.append(problem_at(r.located, tuple(path.split(".")), message))

    lr = hp.learning_rate
    # practice rates are for pretrained models, not for one its backend says starts from random weights
    if lr is not None and r.is_set("hyperparameters.learning_rate") and not _random_weights(r):
        if not r.method.adapter and lr > 1e-4:
            warn("hyperparameters.learning_rate",
                 f"{lr:g} is high for full fine-tuning (practice: ~2e-5); expect divergence or forgetting")
        elif r.method.adapter and r.method.usual_learning_rates and not (
                r.method.usual_learning_rates[0] <= lr <= r.method.usual_learning_rates[1]):
            warn("hyperparameters.learning_rate",
                 f"{lr:g} is far from the usual LoRA range 1e-5..5e-4 (default 2e-4)")
    if isinstance(hp.epochs, int) and hp.epochs > 10:
        warn("hyperparameters.epochs", f"{hp.epochs} epochs risks overfitting (practice: 3, at most ~10); "
                                       "watch validation loss")
    if hp.warmup_ratio == 0 and r.is_set("hyperparameters.warmup_ratio"):
        warn("hyperparameters.warmup_ratio", "no warmup: a 3-10% warmup makes early training more stable")
    if hp.warmup_ratio > 0.2:
        warn("hyperparameters.warmup_ratio", f"{hp.warmup_ratio:g} of training is warmup (practice: 3-10%)")
    if r.recipe.eval.strategy == "no":
        warn("eval.strategy", "no evaluation: overfitting cannot be detected without a validation loss")
    return out


def _random_weights(r: "ResolvedRecipe") -> bool:
    from ..components import backends

    backend = backends().get(r.backend) if r.backend else None
    return bool(backend is not None and backend.random_weights(r.model))
