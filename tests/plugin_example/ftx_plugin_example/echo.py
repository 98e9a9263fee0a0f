"""The ``echo`` backend: plans like a real backend; a run prints the plan and trains nothing."""

from __future__ import annotations

from typing import Any

import click

from ftx.backends import Backend
from ftx.estimate import Estimate, PriceTable

PRICES = PriceTable(
    name="echo-2026-11", backend="echo", date="2026-11-01", source="https://example.invalid/echo/pricing",
    entries={"echo-small": {"train_per_1m_tokens": 0.5}, "echo-large": {"train_per_1m_tokens": 2.0}},
)


class EchoBackend(Backend):
    name = "echo"
    description = "prints what it would train (example plugin)"
    paid = True  # priced per token: `ftx run` asks before it runs (the core's cost guard)
    methods = frozenset({"lora", "lora-lite"})
    objectives = frozenset({"sft"})
    ignored = {"hyperparameters.scheduler": "echo has no scheduler"}

    def plan(self, recipe: Any, data: dict[str, Any]) -> dict[str, Any]:
        params = recipe.method_params.model_dump() if recipe.method_params is not None else {}
        return {
            "echo": f"would train {recipe.model} with {recipe.recipe.method.name}",
            "model": recipe.model,
            "method": recipe.recipe.method.name,
            "rank": params.get("r"),
            "epochs": recipe.recipe.hyperparameters.epochs,
            "train_examples": data.get("train_examples"),
        }

    def run(self, recipe: Any, context: Any) -> dict[str, Any]:
        plan = self.plan(recipe, getattr(context, "data", {}) or {})
        click.echo(f"echo: {plan['echo']} (nothing trained)")
        return plan


def estimate(recipe: Any, data: dict[str, Any]) -> Estimate:
    """Cost = billable tokens x price per token of the model; echo takes no time."""
    epochs = recipe.recipe.hyperparameters.epochs
    epochs = 1 if epochs == "auto" else epochs
    tokens = int(data.get("tokens") or 0) * epochs
    price = PRICES.entries.get(recipe.model or "", {}).get("train_per_1m_tokens")
    return Estimate(backend="echo", model=recipe.model, billable_tokens=tokens, epochs=epochs,
                    cost_usd=None if price is None else round(tokens / 1e6 * price, 6), seconds=0.0,
                    assumptions={"price_table": PRICES.name, "usd_per_1m_tokens": price})
