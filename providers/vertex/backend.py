"""Vertex AI backend: capabilities, checks, and the hosted-provider hooks.

What runs a job (record, upload, create once, follow, record the outcome) is the core's hosted
orchestrator (``ftx.hosted.launch``); this module says what Vertex honours and how to reach it.
"""

from __future__ import annotations

from typing import Any

from ftx.backends import Finding
from ftx.hosted import HOSTED_IGNORES, HostedBackend, HostedProvider

ADAPTER_SIZES = (1, 2, 4, 8, 16)


class VertexBackend(HostedBackend):
    name = "vertex"
    description = "Vertex AI tuning of Gemini models (supervised and preference)"
    provider = "ftx.providers.vertex.provider:VertexProvider"
    methods = frozenset({"lora"})
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
            from .catalog import retirement

            entry = model_entry(recipe.model)
            for level, message in retirement(recipe.model, entry):
                out.append(Finding(level, message, f"model.{self.name}"))  # type: ignore[arg-type]
            if entry is None:
                out.append(Finding("warning", f"{recipe.model!r} is not in ftx's Vertex tuning catalog: its limits "
                                              "and price are unknown", f"model.{self.name}"))
            elif recipe.recipe.objective == "dpo" and not entry.get("preference_tuning"):
                out.append(Finding("error", f"{recipe.model} does not support preference tuning on Vertex "
                                            "(objective dpo)", f"model.{self.name}"))
        return out

    # -- the prepare template's hooks ----------------------------------------------------------
    def convert_records(self, recipe, examples, problems):
        from .records import convert

        return convert(examples, recipe.recipe.objective, problems)

    def check_records(self, recipe, records, *, file: str, role: str) -> Any:
        from .prepare import check

        return check(recipe, records, file=file, role=role)

    def file_problems(self, recipe, train, validation, train_bytes: int) -> list:
        from .prepare import file_problems

        return file_problems(recipe, train, validation, train_bytes)

    def build_request(self, recipe, has_validation: bool) -> dict[str, Any]:
        from .prepare import base_request

        return base_request(recipe, has_validation)

    def tag_request(self, request: dict[str, Any], key: str) -> dict[str, Any]:
        from .prepare import tag

        return tag(request, key)

    def key_target(self, recipe) -> dict[str, Any]:
        from .prepare import target

        return target(recipe)

    def describe_job(self, recipe, train, validation) -> dict[str, Any]:
        from .prepare import describe

        return describe(recipe, train, validation)

    # -- online --------------------------------------------------------------------------------
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

        if not connection.get("project"):
            # A run recorded before its settings were known, or edited by hand: resolve afresh.
            connection = {**connection_settings(None, need_bucket=False), **{k: v for k, v in connection.items() if v}}
        return self.provider_class()(connection)
