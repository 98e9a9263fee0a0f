"""How the local backend trains an objective: the shape an objective plugin's
``Objective.training("local")`` returns.

The local backend asks the recipe's objective for its :class:`LocalTraining` and uses it for the
three objective-specific steps of a run; everything else (model, method, callbacks, checkpoints,
health, outputs) is shared:

1. :meth:`LocalTraining.mode` and :meth:`LocalTraining.rows` turn canonical examples into the
   dataset rows the TRL trainer takes;
2. :meth:`LocalTraining.config` builds the trainer's config from :func:`.config.common_args`
   (the arguments every objective shares) plus its own;
3. :meth:`LocalTraining.trainer_class` is the TRL trainer, constructed with ``model``, ``args``,
   ``train_dataset``, ``eval_dataset``, ``processing_class`` and ``callbacks``; for a PEFT model
   the TRL preference trainers use the model with its adapter disabled as their reference.

Import TRL inside the methods: objective plugins load before anything trains.
"""

from __future__ import annotations

from typing import Any

from ftx.errors import BackendError


class LocalTraining:
    """Base class of an objective's local training (subclass it in the objective plugin)."""

    def mode(self, examples: list[Any], tokenizer: Any, notes: list[str]) -> tuple[str, str]:
        """(row shape, what the loss covers) for these examples; raise :class:`BackendError` for
        data this objective cannot train on. ``notes`` collects lines shown to the user."""
        raise NotImplementedError

    def rows(self, examples: list[Any], mode: str) -> list[dict[str, Any]]:
        """The dataset rows of ``examples`` in row shape ``mode`` (default: ftx's TRL shapes:
        ``messages``, ``completion``, ``final-answer``, ``preference``)."""
        from .trl_data import shaped_rows

        return shaped_rows(examples, mode)

    def conversational(self, mode: str) -> bool:
        """Whether the rows are chat messages (answered with the chat template) or plain text."""
        return mode != "completion"

    def config(self, recipe: Any, device: Any, output_dir: str, n_train: int, has_eval: bool, loss: str,
               **run: Any) -> Any:
        """The TRL config; ``run`` takes :func:`.config.common_args`' keywords."""
        raise NotImplementedError

    def trainer_class(self) -> type:
        """The TRL trainer class."""
        raise NotImplementedError


def local_training(objective: Any) -> LocalTraining:
    """The :class:`LocalTraining` of ``objective`` (a name or an ``Objective``)."""
    if isinstance(objective, LocalTraining):
        return objective
    if isinstance(objective, str):
        from ftx.components import get_objective

        objective = get_objective(objective)
    training = objective.training("local")
    if training is None:
        raise BackendError(f"objective {objective.name!r} does not say how the local backend trains it")
    return training
