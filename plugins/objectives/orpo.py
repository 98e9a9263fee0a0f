"""ftx's ORPO plugin: odds-ratio preference optimisation (Hong et al., 2024) on preference pairs.

ORPO adds an odds-ratio penalty on the rejected answer to the SFT loss on the chosen one, so it
needs no reference model and no separate SFT stage. Locally: TRL's
``trl.experimental.orpo.ORPOTrainer`` (``beta`` is the paper's lambda, default 0.1). Written as a
third-party objective plugin would be: nothing in ftx's core or local backend names it, and hosted
backends, whose services accept a fixed list of objectives, refuse it by name.
"""

from __future__ import annotations

import os
from typing import Any

from ftx import hookimpl
from ftx.objectives import PreferenceObjective
from ftx.plugins.local.objectives import LocalTraining


def _silence_experimental() -> None:
    # The recipe chose ORPO, which TRL keeps in trl.experimental: its import warning is noise here.
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


class OrpoLocal(LocalTraining):
    def mode(self, examples: list[Any], tokenizer: Any, notes: list[str]) -> tuple[str, str]:
        from ftx.plugins.local.trl_data import pair_mode

        return pair_mode(examples, "orpo")

    def config(self, recipe: Any, device: Any, output_dir: str, n_train: int, has_eval: bool, loss: str,
               **run: Any) -> Any:
        _silence_experimental()
        from trl.experimental.orpo import ORPOConfig

        from ftx.plugins.local.config import common_args

        args = common_args(recipe, device, output_dir, n_train, has_eval, **run)
        hp = recipe.recipe.hyperparameters
        args.update(beta=hp.beta if hp.beta is not None else 0.1, dataset_num_proc=None)
        return ORPOConfig(**args)

    def trainer_class(self) -> type:
        _silence_experimental()
        from trl.experimental.orpo import ORPOTrainer

        return ORPOTrainer


class Orpo(PreferenceObjective):
    name = "orpo"
    description = "odds-ratio preference optimisation: SFT plus a preference penalty, no reference model"
    reference_model = False

    def training(self, backend: str) -> Any | None:
        return OrpoLocal() if backend == "local" else None


@hookimpl
def ftx_register_objectives(register):
    register(Orpo())
