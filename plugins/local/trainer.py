"""Build the TRL trainer for a run (the objective's, see :mod:`.objectives`), with ftx's callbacks
in place of the default display."""

from __future__ import annotations

from typing import Any

from .trl_data import TrlData


def build_trainer(objective: Any, model: Any, tokenizer: Any, data: TrlData, args: Any,
                  callbacks: list[Any], float32_trainables: bool = True) -> Any:
    """The objective's TRL trainer (``SFTTrainer`` for sft, ``DPOTrainer`` for dpo, ...) over
    ``data``; ``objective`` is a registered objective's name (or its local training). A PEFT
    model trains its adapter; for DPO its reference is the same model with the adapter disabled.

    TRL casts QLoRA adapters to bfloat16 (as the QLoRA paper does on GPUs); with
    ``float32_trainables`` (on CPU, where bfloat16 is slow) they are cast back before the
    optimizer is created, so they train and are saved in float32."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from .objectives import local_training

    trainer_class = local_training(objective).trainer_class()
    trainer = trainer_class(model=model, args=args, train_dataset=data.train, eval_dataset=data.eval,
                            processing_class=tokenizer, callbacks=callbacks)
    for default in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(default)
    from .batching import install

    install(trainer)  # length-grouped batches in an order seeded by the run's seed and the epoch
    from .resume import stop_at_max_steps

    stop_at_max_steps(trainer)  # a resume from the final checkpoint trains no step past max_steps
    if float32_trainables:
        import torch

        for param in trainer.model.parameters():
            if param.requires_grad and param.dtype != torch.float32:
                param.data = param.data.float()
    return trainer


def count_parameters(model: Any) -> tuple[int, int]:
    """(trainable, total) parameters; 4-bit weights count their packed elements twice."""
    trainable = total = 0
    for p in model.parameters():
        n = p.numel()
        if p.__class__.__name__ == "Params4bit":
            n *= 2
        total += n
        if p.requires_grad:
            trainable += n
    return trainable, total
