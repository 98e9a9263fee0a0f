"""Fireworks AI backend: what it honours, how its request looks, how to reach it.

Running a job is the core's (``ftx.hosted.launch``); this package is Fireworks' own mapping only.
"""

from __future__ import annotations

import os
from typing import Any

from ftx.backends import Finding
from ftx.hosted import HOSTED_IGNORES, HostedBackend, HostedProvider

DEFAULT_BASE_URL = "https://api.fireworks.ai"
IGNORED = {k: v for k, v in HOSTED_IGNORES.items()
           if k not in ("hyperparameters.learning_rate", "hyperparameters.max_length")}
IGNORED.update({"hyperparameters.learning_rate_multiplier": "Fireworks takes an absolute learningRate",
                "hyperparameters.seed": "Fireworks does not take a seed",
                "eval.baseline": "not run on Fireworks: compare against the base model yourself",
                "eval.samples": "not run on Fireworks: query the tuned model yourself"})


class FireworksBackend(HostedBackend):
    name = "fireworks"
    description = "Fireworks AI fine-tuning of open-weight models (supervised and DPO, LoRA)"
    provider = "ftx.providers.fireworks.provider:FireworksProvider"
    methods = frozenset({"lora"})
    ignored = IGNORED

    def options_model(self) -> Any:
        from .options import FireworksOptions
        return FireworksOptions

    def check(self, recipe) -> list[Finding]:
        from ftx.hosted.catalog import findings

        return super().check(recipe) + findings(self, recipe)

    def check_records(self, recipe, records, *, file: str, role: str) -> Any:
        from ftx.hosted.records import check_chat_records

        from .catalog import model_entry

        limit = (model_entry(recipe.model or "") or {}).get("max_context_length")
        return check_chat_records(recipe, records, file=file, role=role, limit=limit, label=self.provider_label)

    def build_request(self, recipe, has_validation: bool) -> dict[str, Any]:
        from .request import build_request

        return build_request(recipe, has_validation)

    def tag_request(self, request: dict[str, Any], key: str) -> dict[str, Any]:
        from .request import tag_request

        return tag_request(request, key)

    def connection(self, recipe) -> dict[str, Any]:
        options = getattr(recipe, "options", None)
        account = getattr(options, "account", None) or os.environ.get("FIREWORKS_ACCOUNT_ID")
        out = {"base_url": os.environ.get("FIREWORKS_BASE_URL") or DEFAULT_BASE_URL, "account": account}
        download = getattr(options, "download", "none")
        if download != "none":
            out["download"] = download
        return out

    def key_target(self, recipe) -> dict[str, Any]:
        """Endpoint and account: asking for the weights afterwards does not make it another job."""
        from ftx.hosted import target_of

        return target_of({k: v for k, v in self.connection(recipe).items() if k != "download"})

    def connect(self, connection: dict[str, Any]) -> HostedProvider:
        return self.provider_class()(connection)
