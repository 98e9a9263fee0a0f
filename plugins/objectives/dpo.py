"""Direct preference optimisation on preference pairs (prompt, chosen, rejected). Locally: TRL's
``DPOTrainer``, with the frozen base (the adapter disabled) as its reference model."""

from __future__ import annotations

from typing import Any

from ftx.objectives import PreferenceObjective
from ftx.plugins.local.objectives import LocalTraining


class DpoLocal(LocalTraining):
    def mode(self, examples: list[Any], tokenizer: Any, notes: list[str]) -> tuple[str, str]:
        from ftx.plugins.local.trl_data import pair_mode

        return pair_mode(examples, "dpo")

    def config(self, recipe: Any, device: Any, output_dir: str, n_train: int, has_eval: bool, loss: str,
               **run: Any) -> Any:
        from ftx.plugins.local.config import dpo_config

        return dpo_config(recipe, device, output_dir, n_train, has_eval, **run)

    def trainer_class(self) -> type:
        from trl import DPOTrainer

        return DPOTrainer


class Dpo(PreferenceObjective):
    name = "dpo"
    description = "direct preference optimisation on (prompt, chosen, rejected) pairs"
    reference_model = True

    def training(self, backend: str) -> Any | None:
        return DpoLocal() if backend == "local" else None
