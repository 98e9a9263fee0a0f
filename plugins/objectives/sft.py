"""Supervised fine-tuning: learn the assistant turns of chat examples, or the completion of
prompt/completion pairs. Locally: TRL's ``SFTTrainer``."""

from __future__ import annotations

from typing import Any

from ftx.objectives import Objective
from ftx.plugins.local.objectives import LocalTraining


class SftLocal(LocalTraining):
    def mode(self, examples: list[Any], tokenizer: Any, notes: list[str]) -> tuple[str, str]:
        from ftx.plugins.local.trl_data import sft_mode

        return sft_mode(examples, tokenizer, notes)

    def config(self, recipe: Any, device: Any, output_dir: str, n_train: int, has_eval: bool, loss: str,
               **run: Any) -> Any:
        from ftx.plugins.local.config import sft_config

        return sft_config(recipe, device, output_dir, n_train, has_eval, loss, **run)

    def trainer_class(self) -> type:
        from trl import SFTTrainer

        return SFTTrainer


class Sft(Objective):
    name = "sft"
    description = "supervised fine-tuning on chat or prompt/completion examples"
    data_kinds = frozenset({"chat", "completion"})
    data_needed = "chat or prompt/completion examples"
    packs = True

    def training(self, backend: str) -> Any | None:
        return SftLocal() if backend == "local" else None
