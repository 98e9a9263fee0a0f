"""``lora-lite``: LoRA with a small rank, reusing the built-in LoRA parameters."""

from __future__ import annotations

from typing import Any

from ftx.plugins.methods.catalog import Lora


class LoraLite(Lora):
    name = "lora-lite"
    description = "LoRA with rank at most 8 (default 4): smallest adapters"

    def params_model(self) -> Any:
        from pydantic import Field

        from ftx.plugins.methods.params import LoraParams

        class LoraLiteParams(LoraParams):
            r: int = Field(4, ge=1, le=8, description="adapter rank (at most 8)")
            alpha: int = Field(8, ge=1, description="scaling numerator (alpha / r)")

        return LoraLiteParams
