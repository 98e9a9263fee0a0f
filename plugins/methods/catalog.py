"""The built-in methods as :class:`ftx.methods.TrainingMethod` objects."""

from __future__ import annotations

from typing import Any

from ftx.methods import TrainingMethod


class Full(TrainingMethod):
    name = "full"
    description = "update every weight (most memory; lr ~2e-5)"
    default_learning_rate = 2e-5
    adapter = False
    mergeable = False  # nothing to merge: the run saves the whole model

    def params_model(self) -> Any:
        from .params import FullParams
        return FullParams

    def trainable_fraction(self, params, n_params, hidden, layers):
        return 1.0

    def apply(self, model: Any, params: Any, context: dict[str, Any]) -> Any:
        for p in model.parameters():
            p.requires_grad_(True)
        return model


class Lora(TrainingMethod):
    name = "lora"
    description = "low-rank adapters on frozen weights (the usual choice; lr ~2e-4)"
    default_learning_rate = 2e-4
    usual_learning_rates = (1e-5, 1e-3)  # QLoRA and DoRA inherit it

    def params_model(self) -> Any:
        from .params import LoraParams
        return LoraParams

    def trainable_fraction(self, params, n_params, hidden, layers):
        # all-linear on a Llama block: q,k,v,o (4 x h) and gate,up,down (~3 x 2.7h): ~12 h-sized
        # matrices, each adding r * (in + out) parameters.
        r = getattr(params, "r", 16)
        added = layers * 12 * r * 2 * hidden
        return min(1.0, added / max(n_params, 1))

    def apply(self, model: Any, params: Any, context: dict[str, Any]) -> Any:
        from .peft_build import lora_config, wrap
        return wrap(model, lora_config(params), context)


class Qlora(Lora):
    name = "qlora"
    description = "LoRA on a 4-bit (nf4) quantized base model: least memory"
    quantized = True

    def params_model(self) -> Any:
        from .params import QloraParams
        return QloraParams

    def load_kwargs(self, params: Any, context: dict[str, Any]) -> dict[str, Any]:
        """Extra ``from_pretrained`` arguments: load the base model 4-bit quantized (on a CPU the
        local backend keeps the layers' plain weight layout: ``models.keep_plain_4bit_layout``)."""
        from .peft_build import bnb_config

        return {"quantization_config": bnb_config(params, context["device"])}

    def apply(self, model: Any, params: Any, context: dict[str, Any]) -> Any:
        from peft import prepare_model_for_kbit_training

        from .peft_build import lora_config, wrap
        # Casts norms to float32 and enables input gradients; checkpointing only where the
        # trainer uses it (on CPU it costs time and saves nothing that matters).
        gc = bool(context.get("gradient_checkpointing"))
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=gc,
            gradient_checkpointing_kwargs={"use_reentrant": False} if gc else None)
        return wrap(model, lora_config(params), context)


class Dora(Lora):
    name = "dora"
    description = "weight-decomposed LoRA (magnitude + direction)"

    def trainable_fraction(self, params, n_params, hidden, layers):
        return super().trainable_fraction(params, n_params, hidden, layers) + layers * 12 * hidden / max(n_params, 1)

    def apply(self, model: Any, params: Any, context: dict[str, Any]) -> Any:
        from .peft_build import lora_config, wrap
        return wrap(model, lora_config(params, use_dora=True), context)


class Prefix(TrainingMethod):
    name = "prefix"
    description = "trainable key/value prefixes in every layer"
    default_learning_rate = 1e-2
    mergeable = False
    gradient_checkpointing = False  # its past-key-value prefixes break under checkpointing

    def params_model(self) -> Any:
        from .params import PrefixParams
        return PrefixParams

    def trainable_fraction(self, params, n_params, hidden, layers):
        return min(1.0, 2 * layers * hidden * getattr(params, "num_virtual_tokens", 20) / max(n_params, 1))

    def apply(self, model: Any, params: Any, context: dict[str, Any]) -> Any:
        from .peft_build import prefix_config, wrap
        return wrap(model, prefix_config(params), context)


class Prompt(TrainingMethod):
    name = "prompt"
    description = "trainable soft-prompt embeddings before the input"
    default_learning_rate = 3e-2
    mergeable = False

    def params_model(self) -> Any:
        from .params import PromptParams
        return PromptParams

    def trainable_fraction(self, params, n_params, hidden, layers):
        return min(1.0, hidden * getattr(params, "num_virtual_tokens", 20) / max(n_params, 1))

    def apply(self, model: Any, params: Any, context: dict[str, Any]) -> Any:
        from .peft_build import prompt_config, wrap
        return wrap(model, prompt_config(params, context), context)


class Ia3(TrainingMethod):
    name = "ia3"
    description = "learned rescaling vectors of keys, values and feed-forward activations"
    default_learning_rate = 3e-3

    def params_model(self) -> Any:
        from .params import Ia3Params
        return Ia3Params

    def trainable_fraction(self, params, n_params, hidden, layers):
        return min(1.0, layers * 4.7 * hidden / max(n_params, 1))

    def apply(self, model: Any, params: Any, context: dict[str, Any]) -> Any:
        from .peft_build import ia3_config, wrap
        return wrap(model, ia3_config(params, model), context)


BUILTIN_METHODS = [Full, Lora, Qlora, Dora, Prefix, Prompt, Ia3]
