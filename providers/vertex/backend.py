"""Vertex AI backend: capabilities, checks, and the hosted-provider hooks.

What runs a job (record, upload, create once, follow, record the outcome) is the core's hosted
orchestrator (``ftx.hosted_run``); this module says what Vertex honours and how to reach it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ftx.backends import Finding
from ftx.hosted import HOSTED_IGNORES, HostedBackend, HostedProvider, PreparedJob

ADAPTER_SIZES = (1, 2, 4, 8, 16)


class VertexBackend(HostedBackend):
    name = "vertex"
    description = "Vertex AI tuning of Gemini models (supervised and preference)"
    provider_label: ClassVar[str] = "Vertex AI"
    methods = frozenset({"lora"})
    poll_interval = 30.0  # tuning jobs take tens of minutes; FTX_POLL_INTERVAL overrides
    ignored = {**HOSTED_IGNORES,
               "hyperparameters.batch_size": "Vertex picks the batch size",
               "hyperparameters.seed": "Vertex does not take a seed",
               "method.bias": "Vertex picks the adapter",
               "method.use_rslora": "Vertex picks the adapter",
               "eval.baseline": "not run on Vertex: compare against the base model yourself",
               "eval.samples": "not run on Vertex: query the tuned endpoint yourself"}

    def options_model(self) -> Any:
        from .options import VertexOptions
        return VertexOptions

    def check(self, recipe) -> list[Finding]:
        from .catalog import model_entry

        out = super().check(recipe)
        r = getattr(recipe.method_params, "r", None)
        if recipe.recipe.method.name == "lora" and r not in ADAPTER_SIZES:
            out.append(Finding("error", f"Vertex adapter sizes are {', '.join(map(str, ADAPTER_SIZES))}; "
                                        f"method.r {r} has no equivalent", "method.r"))
        elif recipe.recipe.method.name == "lora" and not recipe.is_set("method.r"):
            out.append(Finding("warning", "mapped: method.r is not set, so Vertex picks the adapter size "
                                          "(set method.r to 1, 2, 4, 8 or 16 to choose)", "method.r"))
        hp = recipe.recipe.hyperparameters
        lrm = hp.learning_rate_multiplier
        if isinstance(lrm, (int, float)) and not isinstance(lrm, bool) and lrm <= 0:
            out.append(Finding("error", "learning_rate_multiplier must be above 0",
                               "hyperparameters.learning_rate_multiplier"))
        if recipe.model:
            entry = model_entry(recipe.model)
            if entry is None:
                out.append(Finding("warning", f"{recipe.model!r} is not in ftx's Vertex tuning catalog: its limits "
                                              "and price are unknown", f"model.{self.name}"))
            elif recipe.recipe.objective == "dpo" and not entry.get("preference_tuning"):
                out.append(Finding("error", f"{recipe.model} does not support preference tuning on Vertex "
                                            "(objective dpo)", f"model.{self.name}"))
        return out

    def prepare(self, recipe) -> PreparedJob:
        from .prepare import prepare

        return prepare(self.name, recipe)

    def connection(self, recipe) -> dict[str, Any]:
        """Project, region, bucket and endpoint (``recipe=None``: the environment's, for calls
        that stage nothing, such as ``ftx jobs list --remote``)."""
        from .config import connection_settings

        return connection_settings(getattr(recipe, "options", None), need_bucket=recipe is not None)

    def generator(self, model: Any, params: Any, recipe: Any = None, options: dict[str, Any] | None = None) -> Any:
        """generateContent on the base model or the tuned endpoint (see :mod:`.inference`)."""
        from .config import connection_settings
        from .inference import VertexGenerator

        connection = connection_settings(getattr(recipe, "options", None), need_bucket=False)
        base = (recipe.model if recipe is not None else None) or model.name
        return VertexGenerator(connection, model, params, base,
                               concurrency=(options or {}).get("concurrency") or 4)

    def connect(self, connection: dict[str, Any]) -> HostedProvider:
        from .config import connection_settings
        from .provider import VertexProvider

        if not connection.get("project"):
            # A run recorded before its settings were known, or edited by hand: resolve afresh.
            connection = {**connection_settings(None, need_bucket=False), **{k: v for k, v in connection.items() if v}}
        return VertexProvider(connection)
