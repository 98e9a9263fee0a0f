"""OpenAI backend: capabilities, options and the job request a run would send."""

from __future__ import annotations

from typing import Any

from ftx.backends import Backend, Finding

_HOSTED_IGNORES = {
    "hyperparameters.learning_rate": "hosted tuning takes learning_rate_multiplier, not an absolute rate",
    "hyperparameters.scheduler": "the provider picks the schedule",
    "hyperparameters.warmup_ratio": "the provider picks the warmup",
    "hyperparameters.weight_decay": "not exposed by the provider",
    "hyperparameters.max_grad_norm": "not exposed by the provider",
    "hyperparameters.gradient_accumulation": "not exposed by the provider",
    "hyperparameters.packing": "not exposed by the provider",
    "hyperparameters.max_steps": "not exposed by the provider; use epochs",
    "hyperparameters.max_length": "the provider truncates at the model's own limit",
    "method.alpha": "the provider picks the adapter",
    "method.dropout": "the provider picks the adapter",
    "method.target_modules": "the provider picks the adapter",
    "eval.steps": "the provider evaluates on its own schedule",
    "eval.early_stopping_patience": "not exposed by the provider",
}


class OpenAIBackend(Backend):
    name = "openai"
    description = "OpenAI fine-tuning API (supervised and DPO)"
    hosted = True
    methods = frozenset({"lora", "full"})
    ignored = {**_HOSTED_IGNORES, "method.r": "the provider picks the adapter"}

    def options_model(self) -> Any:
        from .options import OpenAIOptions
        return OpenAIOptions

    def check(self, recipe) -> list[Finding]:
        out = super().check(recipe)
        if recipe.recipe.method.name in (self.methods or ()) and recipe.recipe.method.name != "full":
            out.append(Finding("warning", f"mapped: OpenAI chooses how to adapt the model; method "
                                          f"{recipe.recipe.method.name!r} becomes a plain fine-tuning job",
                               "method.name"))
        return out

    def plan(self, recipe, data: dict[str, Any]) -> dict[str, Any]:
        hp = recipe.recipe.hyperparameters
        kind = "dpo" if recipe.recipe.objective == "dpo" else "supervised"
        hyper: dict[str, Any] = {
            "n_epochs": hp.epochs,
            "batch_size": hp.batch_size if recipe.is_set("hyperparameters.batch_size") else "auto",
            "learning_rate_multiplier": hp.learning_rate_multiplier or "auto",
        }
        if kind == "dpo":
            hyper["beta"] = hp.beta
        opts = recipe.options
        request: dict[str, Any] = {
            "model": recipe.model,
            "training_file": f"<upload of {data.get('train_file', 'train')} as OpenAI {kind} JSONL>",
            "validation_file": f"<upload of {data['validation_file']}>" if data.get("validation_file") else None,
            "method": {"type": kind, kind: {"hyperparameters": hyper}},
            "seed": hp.seed,
        }
        if opts:
            if opts.suffix:
                request["suffix"] = opts.suffix
            if opts.metadata:
                request["metadata"] = dict(opts.metadata)
            if opts.wandb_project:
                request["integrations"] = [{"type": "wandb", "wandb": {"project": opts.wandb_project}}]
        return {"request": {k: v for k, v in request.items() if v is not None}}
