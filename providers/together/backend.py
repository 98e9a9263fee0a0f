"""Together AI backend: what it honours, how its request looks, how to reach it.

Running a job (record, upload, create once, follow, record the outcome) is the core's
(``ftx.hosted.launch``); this module and its neighbours are Together's own mapping only.
"""

from __future__ import annotations

import os
from typing import Any

from ftx.backends import Finding
from ftx.hosted import HostedBackend, HostedProvider

DEFAULT_BASE_URL = "https://api.together.xyz"
IGNORED = {
    "hyperparameters.learning_rate_multiplier": "Together takes an absolute learning_rate",
    "hyperparameters.scheduler": "ftx sends Together's default schedule (cosine)",
    "hyperparameters.gradient_accumulation": "not in Together's fine-tuning API",
    "hyperparameters.max_steps": "not in Together's fine-tuning API; use epochs",
    "method.target_modules": "Together adapts all linear layers",
    "eval.steps": "Together evaluates n_evals times over the run (backends.together.n_evals)",
    "eval.early_stopping_patience": "not in Together's fine-tuning API",
    "eval.baseline": "not run on Together: compare against the base model yourself",
    "eval.samples": "not run on Together: query the tuned model yourself",
}


class TogetherBackend(HostedBackend):
    name = "together"
    description = "Together AI fine-tuning of open-weight models (LoRA and full; SFT and DPO)"
    provider = "ftx.providers.together.provider:TogetherProvider"
    methods = frozenset({"lora", "full"})
    ignored = IGNORED

    def options_model(self) -> Any:
        from .options import TogetherOptions
        return TogetherOptions

    def check(self, recipe) -> list[Finding]:
        from ftx.hosted.catalog import findings

        from .catalog import model_entry

        out = super().check(recipe) + findings(self, recipe)
        entry = model_entry(recipe.model) if recipe.model else None
        if entry and recipe.recipe.method.name == "full" and entry.get("full") is False:
            out.append(Finding("error", f"Together AI fine-tunes {recipe.model} with LoRA only", "method.name"))
        return out

    # -- the prepare template's hooks (records: the chat / openai-dpo shapes Together reads) ------
    def check_records(self, recipe, records, *, file: str, role: str) -> Any:
        from ftx.hosted.records import check_chat_records

        from .catalog import model_entry

        limit = (model_entry(recipe.model or "") or {}).get("max_seq_length")
        return check_chat_records(recipe, records, file=file, role=role, limit=limit, label=self.provider_label)

    def build_request(self, recipe, has_validation: bool) -> dict[str, Any]:
        from .request import build_request

        return build_request(recipe, has_validation)

    def tag_request(self, request: dict[str, Any], key: str) -> dict[str, Any]:
        from .request import tag_request

        return tag_request(request, key)

    def describe_job(self, recipe, train, validation) -> dict[str, Any]:
        from .catalog import model_entry, price_key

        entry = model_entry(recipe.model or "") or {}
        price = entry.get(price_key(recipe.recipe.method.name, recipe.recipe.objective))
        return {"training examples": len(train.tokens), "validation examples": len(validation.tokens),
                "tokens per epoch (characters/4)": train.total_tokens,
                "price per 1M trained tokens": f"${price:,.2f} (ftx catalog)" if price is not None else "unknown",
                "Together's own estimate": "asked for once the data is uploaded, before the job is created"}

    # -- online --------------------------------------------------------------------------------
    def connection(self, recipe) -> dict[str, Any]:
        out: dict[str, Any] = {"base_url": os.environ.get("TOGETHER_BASE_URL") or DEFAULT_BASE_URL}
        download = getattr(getattr(recipe, "options", None), "download", "none")
        if download != "none":
            out["download"] = download
        return out

    def key_target(self, recipe) -> dict[str, Any]:
        from ftx.hosted import target_of

        return target_of({"base_url": self.connection(recipe)["base_url"]})

    def connect(self, connection: dict[str, Any]) -> HostedProvider:
        return self.provider_class()(connection)
