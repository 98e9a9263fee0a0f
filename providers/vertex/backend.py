"""Vertex AI backend: capabilities, options and the tuning job a run would create."""

from __future__ import annotations

from typing import Any

from ftx.backends import Backend, Finding
from ftx.providers.openai.backend import _HOSTED_IGNORES

ADAPTER_SIZES = (1, 2, 4, 8, 16)


class VertexBackend(Backend):
    name = "vertex"
    description = "Vertex AI tuning of Gemini models (supervised and preference)"
    hosted = True
    methods = frozenset({"lora"})
    ignored = {**_HOSTED_IGNORES, "hyperparameters.batch_size": "Vertex picks the batch size",
               "hyperparameters.seed": "Vertex does not take a seed"}

    def options_model(self) -> Any:
        from .options import VertexOptions
        return VertexOptions

    def check(self, recipe) -> list[Finding]:
        out = super().check(recipe)
        r = getattr(recipe.method_params, "r", None)
        if recipe.recipe.method.name == "lora" and r not in ADAPTER_SIZES:
            out.append(Finding("error", f"Vertex adapter sizes are {', '.join(map(str, ADAPTER_SIZES))}; "
                                        f"method.r {r} has no equivalent", "method.r"))
        return out

    def plan(self, recipe, data: dict[str, Any]) -> dict[str, Any]:
        hp = recipe.recipe.hyperparameters
        spec = "preferenceOptimizationSpec" if recipe.recipe.objective == "dpo" else "supervisedTuningSpec"
        hyper: dict[str, Any] = {"adapterSize": getattr(recipe.method_params, "r", 16)}
        if hp.epochs != "auto":
            hyper["epochCount"] = hp.epochs
        if hp.learning_rate_multiplier not in (None, "auto"):
            hyper["learningRateMultiplier"] = hp.learning_rate_multiplier
        if recipe.recipe.objective == "dpo":
            hyper["beta"] = hp.beta
        bucket = getattr(recipe.options, "bucket", None) or "$FTX_VERTEX_BUCKET"
        body: dict[str, Any] = {
            "baseModel": recipe.model,
            spec: {
                "trainingDatasetUri": f"gs://{bucket.removeprefix('gs://')}/ftx/<sha256>/train.jsonl",
                "hyperParameters": hyper,
            },
            "tunedModelDisplayName": getattr(recipe.options, "display_name", None) or recipe.recipe.name,
        }
        if data.get("validation_examples"):
            body[spec]["validationDatasetUri"] = body[spec]["trainingDatasetUri"].replace("train", "validation")
        return {"request": body}
