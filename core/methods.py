"""What a training-method plugin provides: its parameters, defaults and how it builds a model."""

from __future__ import annotations

from typing import Any, ClassVar


class TrainingMethod:
    """Base class for training methods (full, lora, qlora, ...).

    ``params`` is a pydantic model class for the recipe's ``method:`` block (less ``name``);
    it is returned by :meth:`params_model` so that pydantic is imported only when needed.
    ``default_learning_rate`` is the fine-tuning-practice default used when the recipe sets none.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    default_learning_rate: ClassVar[float] = 2e-4
    adapter: ClassVar[bool] = True  # trains an adapter (PEFT) rather than all weights
    quantized: ClassVar[bool] = False  # loads the base model quantized (4-bit)
    # The adapter is a change of weights that folds into the base model (``ftx export --merge``);
    # prompt-learning methods learn virtual tokens instead.
    mergeable: ClassVar[bool] = True
    # Tolerates gradient (activation) checkpointing, which GPUs default to; prefix tuning's
    # past-key-value prefixes do not.
    gradient_checkpointing: ClassVar[bool] = True
    # The learning rates practice calls usual for this method, for a warning outside them
    # (``None``: no advice).
    usual_learning_rates: ClassVar[tuple[float, float] | None] = None

    def params_model(self) -> Any:
        """The pydantic model validating this method's parameters."""
        from pydantic import BaseModel, ConfigDict

        class NoParams(BaseModel):
            model_config = ConfigDict(extra="forbid")

        return NoParams

    def trainable_fraction(self, params: Any, n_params: int, hidden: int, layers: int) -> float:
        """Rough share of parameters trained, for estimates (1.0 for full fine-tuning)."""
        return 1.0 if not self.adapter else 0.01

    def load_kwargs(self, params: Any, context: dict[str, Any]) -> dict[str, Any] | None:
        """Extra ``from_pretrained`` arguments for the base model (``context["device"]``), e.g. a
        quantization config; ``None`` for none. The local backend passes them when it trains, and
        again when it reloads the base model for ``ftx generate`` / ``ftx export``."""
        return None

    def apply(self, model: Any, params: Any, context: dict[str, Any]) -> Any:
        """Turn a loaded base model into the model to train (issue: local backend)."""
        raise NotImplementedError(f"method {self.name!r} has no local implementation")
