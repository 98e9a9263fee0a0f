"""The built-in estimators (ftx_estimate hookimpls of local, openai, vertex) on given examples."""

from __future__ import annotations

import pytest
from cost_helpers import chat, pair

from ftx import hookimpl
from ftx.components import get_backend
from ftx.cost.compare import call_estimators
from ftx.providers.openai.billing import openai_auto_epochs, openai_example_tokens
from ftx.data.tokens import get_counter
from ftx.estimate import PriceTable
from ftx.pluginmanager import get_plugins
from ftx.recipe import load_recipe

RECIPE = """\
name: t
model:
  local: {local}
  openai: gpt-4.1-mini
  vertex: gemini-2.5-flash
data:
  train: train.jsonl
hyperparameters:
  epochs: {epochs}
  batch_size: 2
  max_length: 64
"""


@pytest.fixture
def recipe(write):
    def make(backend, epochs=3, local="Qwen/Qwen2.5-0.5B-Instruct", **_):
        path = write("recipe.yaml", RECIPE.format(epochs=epochs, local=local))
        write("train.jsonl", "")
        return load_recipe(str(path), backend=backend)
    return make


TRAIN = [chat("What is the capital of France?", "Paris."), chat("Two plus two?", "Four, of course.")] * 10


def estimate(backend_name, recipe, train=TRAIN, validation=(), **data):
    return call_estimators(get_backend(backend_name), recipe,
                           {"train_set": list(train), "validation_set": list(validation), **data})


def test_openai_bills_exact_tokens_times_epochs_at_the_catalog_price(recipe):
    r = recipe("openai", epochs=2)
    est = estimate("openai", r)
    counter = get_counter("o200k_base")
    per_epoch = sum(openai_example_tokens(e, counter) for e in TRAIN)
    assert est.billable_tokens == 2 * per_epoch and est.epochs == 2
    assert est.cost_usd == pytest.approx(2 * per_epoch * 5.00 / 1e6, abs=1e-4)  # gpt-4.1-mini: $5 / 1M
    assert est.fits is True and est.seconds is None and est.peak_memory_gb is None
    assert "$5 per 1M training tokens" in est.assumptions["price"]
    assert est.assumptions["tokens counted with"].startswith("o200k_base")


def test_openai_auto_epochs_resolve_with_the_default_heuristic(recipe):
    est = estimate("openai", recipe("openai", epochs="auto"), train=TRAIN[:12])
    assert est.epochs == openai_auto_epochs(12) == 8
    assert "auto" in est.assumptions["epochs"]


def test_openai_unset_epochs_are_auto_as_in_the_request(write):
    # The request sends n_epochs "auto" when the recipe leaves epochs unset; the estimate must agree.
    path = write("recipe.yaml", RECIPE.format(epochs=3, local="x").replace("  epochs: 3\n", ""))
    write("train.jsonl", "")
    est = estimate("openai", load_recipe(str(path), backend="openai"), train=TRAIN[:12])
    assert est.epochs == openai_auto_epochs(12) == 8


def test_openai_refuses_to_call_too_few_examples_fitting(recipe):
    est = estimate("openai", recipe("openai"), train=TRAIN[:5])
    assert est.fits is False and any("at least 10" in n for n in est.notes)


class Negotiated:
    @hookimpl
    def ftx_register_price_tables(self, register):
        register(PriceTable("negotiated", "openai", "2026-11-01", "our contract",
                            {"gpt-4.1-mini": {"train_per_1m_tokens": 0.5}}))


def test_a_plugin_price_table_changes_the_openai_estimate(recipe):
    r = recipe("openai")
    before = estimate("openai", r)
    get_plugins().register(Negotiated(), "negotiated")
    after = estimate("openai", r)
    assert after.billable_tokens == before.billable_tokens
    assert after.cost_usd == pytest.approx(before.cost_usd / 10, abs=1e-4)
    assert "our contract" in after.assumptions["price"]


def test_vertex_bills_characters_over_four_times_epochs(recipe):
    est = estimate("vertex", recipe("vertex"))
    chars = sum(len("".join(m.content for m in e.messages)) for e in TRAIN)
    per_epoch = sum(-(-len("".join(m.content for m in e.messages)) // 4) for e in TRAIN)
    assert per_epoch >= chars / 4
    assert est.billable_tokens == 3 * per_epoch
    assert est.cost_usd == pytest.approx(3 * per_epoch * 5.00 / 1e6, abs=1e-4)  # 2.5 Flash: $5 / 1M


def test_vertex_preference_tuning_not_supported_on_pro_is_flagged(write):
    path = write("dpo.yaml", "name: d\nmodel: {vertex: gemini-2.5-pro}\ndata: {train: p.jsonl}\n"
                             "objective: dpo\nmethod: {name: lora, r: 8}\n")
    r = load_recipe(str(path), backend="vertex")
    est = estimate("vertex", r, train=[pair("a?", "b", "c")] * 20)
    assert est.fits is False and any("preference tuning" in n for n in est.notes)


def test_local_estimate_for_one_device_states_its_assumptions(recipe):
    est = estimate("local", recipe("local"), gpu="a10g")
    assert est.device == "A10G" and est.memory_gb == 24
    assert est.fits is True and 1 < est.peak_memory_gb < 24
    assert est.cost_usd == pytest.approx(est.seconds / 3600 * 1.006, abs=1e-3)
    assert est.assumptions["$/GPU-hour"] == "1.006"
    assert "494M parameters" in est.assumptions["model size"]
    assert est.assumptions["MFU"] == "0.30"
    assert set(est.breakdown) >= {"weights", "activations"}


def test_local_big_model_does_not_fit_a_small_gpu_and_says_so(recipe):
    est = estimate("local", recipe("local", local="meta-llama/Llama-3.1-70B-Instruct"), gpu="t4")
    assert est.fits is False and any("needs ~" in n for n in est.notes)


def test_local_unknown_model_is_a_row_not_a_crash(recipe):
    est = estimate("local", recipe("local", local="acme/mystery"), gpu="cpu")
    assert est.available is False and "unknown" in est.notes[0]


def test_a_failing_estimator_plugin_does_not_hide_the_builtin(recipe):
    class Broken:
        @hookimpl(tryfirst=True)
        def ftx_estimate(self, backend, recipe, data):
            raise RuntimeError("boom")

    get_plugins().register(Broken(), "broken")
    est = estimate("vertex", recipe("vertex"))
    # the built-in still answers after the broken plugin
    assert est.available and est.cost_usd is not None


def test_tryfirst_plugin_estimator_overrides_the_builtin(recipe):
    from ftx.estimate import Estimate

    class Mine:
        @hookimpl(tryfirst=True)
        def ftx_estimate(self, backend, recipe, data):
            return Estimate(backend=backend.name, model=recipe.model, cost_usd=42.0) if backend.name == "vertex" else None

    get_plugins().register(Mine(), "mine")
    assert estimate("vertex", recipe("vertex")).cost_usd == 42.0
    assert estimate("openai", recipe("openai")).cost_usd != 42.0


def test_azure_openai_counts_like_openai_but_needs_an_azure_price(write, monkeypatch):
    path = write("az.yaml", "name: az\nmodel: {azure-openai: gpt-4.1-mini-2025-04-14}\ndata: {train: t.jsonl}\n")
    r = load_recipe(str(path), backend="azure-openai")
    est = estimate("azure-openai", r)
    assert est.billable_tokens > 0 and est.cost_usd is None
    assert any("no azure-openai training price" in n for n in est.notes)
    catalog = write("openai-models.yaml", "models:\n  gpt-4.1-mini-2025-04-14:\n    aliases: [gpt-4.1-mini]\n"
                                          "    methods: [supervised, dpo]\n    train_per_1m_tokens: 5.0\n"
                                          "    azure_train_per_1m_tokens: 5.5\n    max_example_tokens: 65536\n"
                                          "    encoding: o200k_base\n")
    monkeypatch.setenv("FTX_OPENAI_CATALOG", str(catalog))
    priced = estimate("azure-openai", r)
    assert priced.billable_tokens == est.billable_tokens
    assert priced.cost_usd == pytest.approx(est.billable_tokens * 5.5 / 1e6, abs=1e-4)
