"""OpenAI and Azure OpenAI backends: capabilities, checks, and the hosted-provider hooks.

What runs a job (upload, create, follow, record) is the core's hosted orchestrator
(``ftx.hosted.launch``); this module says what OpenAI honours and how to talk to it.
"""

from __future__ import annotations

from typing import Any

from ftx.backends import Finding
from ftx.hosted import HOSTED_IGNORES, HostedBackend, HostedProvider

_OPENAI_IGNORES = {
    **HOSTED_IGNORES,
    "method.r": "the provider picks the adapter",
    "eval.baseline": "not run on OpenAI: compare against the base model yourself",
    "eval.samples": "not run on OpenAI: query the fine-tuned model yourself",
}

# OpenAI's accepted ranges (CreateFineTuningJobRequest in its OpenAPI spec).
_RANGES = {"epochs": (1, 50, "n_epochs"), "batch_size": (1, 256, "batch_size")}
_MAX_SEED = 2_147_483_647


class OpenAIBackend(HostedBackend):
    name = "openai"
    description = "OpenAI fine-tuning API (supervised and DPO)"
    provider = "ftx.providers.openai.provider:OpenAIProvider"
    sdk_modules = ("openai",)
    methods = frozenset({"lora", "full"})
    ignored = _OPENAI_IGNORES

    def options_model(self) -> Any:
        from .options import OpenAIOptions
        return OpenAIOptions

    def token_counter(self, recipe) -> Any:
        from ftx.data.tokens import get_counter

        return get_counter(recipe.model)

    def check(self, recipe) -> list[Finding]:
        from .catalog import availability
        from .prepare import method_type

        out = super().check(recipe)
        if recipe.recipe.method.name in (self.methods or ()) and recipe.recipe.method.name != "full":
            out.append(Finding("warning", f"mapped: {self.provider_label} chooses how to adapt the model; method "
                                          f"{recipe.recipe.method.name!r} becomes a plain fine-tuning job",
                               "method.name"))
        if recipe.model:
            for level, message in availability(recipe.model, method_type(recipe), self.name):
                out.append(Finding(level, message, f"model.{self.name}"))  # type: ignore[arg-type]
        hp = recipe.recipe.hyperparameters
        for key, (low, high, api) in _RANGES.items():
            value = getattr(hp, key)
            if isinstance(value, int) and not low <= value <= high and recipe.is_set(f"hyperparameters.{key}"):
                out.append(Finding("error", f"{self.provider_label} takes {api} from {low} to {high}, not {value}",
                                   f"hyperparameters.{key}"))
        lrm = hp.learning_rate_multiplier
        if isinstance(lrm, (int, float)) and lrm <= 0:
            out.append(Finding("error", "learning_rate_multiplier must be above 0",
                               "hyperparameters.learning_rate_multiplier"))
        if not 0 <= hp.seed <= _MAX_SEED:
            out.append(Finding("error", f"{self.provider_label} takes a seed from 0 to {_MAX_SEED}",
                               "hyperparameters.seed"))
        return out

    # -- the prepare template's hooks (records: the default, the chat / openai-dpo dump) -------
    def check_records(self, recipe, records, *, file: str, role: str) -> Any:
        from .prepare import check_records

        return check_records(recipe, records, file=file, role=role)

    def build_request(self, recipe, has_validation: bool) -> dict[str, Any]:
        from .prepare import base_request

        return base_request(recipe, has_validation)

    def describe_job(self, recipe, train, validation) -> dict[str, Any]:
        from .prepare import describe

        return describe(self.name, recipe, train, validation)

    # -- online --------------------------------------------------------------------------------
    def connection(self, recipe) -> dict[str, Any]:
        from .client import connection_settings

        return connection_settings(self.name, recipe.options if recipe is not None else None)

    def connect(self, connection: dict[str, Any]) -> HostedProvider:
        return self.provider_class()(self.name, connection)

    def generator(self, model: Any, params: Any, recipe: Any = None, options: dict[str, Any] | None = None) -> Any:
        """Chat completions on the base or ``ft:`` model (see :mod:`.inference`)."""
        from .inference import OpenAIChatGenerator

        return OpenAIChatGenerator(self.name, self.connection(recipe), model, params, self.provider_label,
                                   concurrency=(options or {}).get("concurrency") or 4)


class AzureOpenAIBackend(OpenAIBackend):
    """Azure OpenAI fine-tuning: the same API shape through the SDK's ``AzureOpenAI`` client.

    Recipes name the Azure *base model* (``model: {azure-openai: gpt-4.1-mini-2025-04-14}``),
    not a deployment: a deployment serves a model, fine-tuning starts from a base model.
    """

    name = "azure-openai"
    description = "Azure OpenAI fine-tuning (same API shape as OpenAI; endpoint + API version + key)"
    provider = "ftx.providers.openai.provider:AzureOpenAIProvider"

    def options_model(self) -> Any:
        from .options import AzureOpenAIOptions
        return AzureOpenAIOptions

