"""Local backend capabilities and plan. Training itself imports torch lazily."""

from __future__ import annotations

import importlib.util
import math
from typing import Any

from ftx.backends import Backend, Finding


class LocalBackend(Backend):
    name = "local"
    description = "this machine (CPU or CUDA) with torch, transformers, peft and trl"
    hosted = False
    ignored = {
        "hyperparameters.learning_rate_multiplier": "hosted backends only; set hyperparameters.learning_rate",
    }

    def options_model(self) -> Any:
        from .options import LocalOptions

        return LocalOptions

    def check(self, recipe) -> list[Finding]:
        out = super().check(recipe)
        hp = recipe.recipe.hyperparameters
        for key in ("epochs", "batch_size"):
            if getattr(hp, key) == "auto":
                out.append(Finding("warning", "auto is for hosted backends; the local backend uses "
                                              f"{3 if key == 'epochs' else 4}", f"hyperparameters.{key}"))
        if recipe.recipe.objective == "dpo" and recipe.is_set("hyperparameters.packing"):
            out.append(Finding("warning", "packing applies to sft only; DPO pairs are not packed",
                               "hyperparameters.packing"))
        if recipe.recipe.output_dir:
            from .outputs import configured_output_dir
            from .ownership import refusal

            problem = refusal(configured_output_dir(recipe))
            if problem:
                out.append(Finding("error", problem, "output_dir"))
        missing = [m for m in ("torch", "transformers", "peft", "trl") if importlib.util.find_spec(m) is None]
        if missing:
            out.append(Finding("warning", f"not installed: {', '.join(missing)} "
                                          "(pip install 'ftx[local]' torch==2.13.0)"))
        return out

    def plan(self, recipe, data: dict[str, Any]) -> dict[str, Any]:
        hp = recipe.recipe.hyperparameters
        epochs = hp.epochs if isinstance(hp.epochs, int) else 3
        batch = hp.batch_size if isinstance(hp.batch_size, int) else 4
        n_train = data.get("train_examples") or 0
        per_epoch = math.ceil(n_train / (batch * hp.gradient_accumulation)) if n_train else None
        steps = hp.max_steps or (per_epoch * epochs if per_epoch else None)
        return {
            "model": recipe.model,
            "method": {"name": recipe.recipe.method.name, **recipe.method_params.model_dump()},
            "objective": recipe.recipe.objective,
            "precision": "float32 on CPU; bfloat16 on CUDA where supported",
            "optimizer steps": steps,
            "epochs": epochs,
            "effective batch": batch * hp.gradient_accumulation,
            "learning rate": f"{hp.learning_rate:g} ({hp.scheduler}, warmup {hp.warmup_ratio:.0%})",
            "max length": hp.max_length,
        }

    def distribution_plan(self, recipe, processes: Any, data: dict[str, Any]) -> dict[str, Any] | None:
        from .distributed import describe

        return describe(recipe, recipe.options, processes, data)

    def token_plan(self, recipe, train: list[Any], validation: list[Any], show: int = 0) -> dict[str, Any] | None:
        """Examples as the recipe's tokenizer and chat template render them (see :mod:`.token_plan`)."""
        from .token_plan import describe

        return describe(recipe, train, validation, show)

    def run(self, recipe, context: Any) -> Any:
        """Train on this machine; returns the run summary (see ``summary.json`` in the run folder)."""
        from .train import run_local

        return run_local(recipe, context)
