"""The OpenAI model catalog: lookups, retirement dates, the platform cutoff, user overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from ftx.errors import BackendError
from ftx.providers.openai.catalog import availability, get_catalog, load_catalog, model_info


def test_packaged_catalog_is_dated_and_sourced():
    catalog = get_catalog()
    assert catalog.checked == "2026-12-03"
    assert {"prices", "limits", "methods", "retirements", "azure"} <= set(catalog.sources)
    assert catalog.new_jobs_until == dt.date(2027, 1, 6)
    models = load_catalog()
    nano = models["gpt-4.1-nano-2025-04-14"]
    assert nano.train_per_1m_tokens == 1.5 and nano.max_example_tokens == 65536
    assert set(nano.methods) == {"supervised", "dpo"} and nano.encoding == "o200k_base"
    assert nano.shutdown == dt.date(2026, 10, 23) and nano.replacement == "gpt-4.1-mini-2025-04-14"
    for name in ("gpt-4o-2024-08-06", "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14"):
        assert models[name].shutdown == dt.date(2027, 1, 14)
    assert models["o4-mini-2025-04-16"].shutdown == dt.date(2026, 10, 23)


def test_a_retired_model_names_the_backends_and_models_the_recipe_could_move_to():
    [error] = [m for level, m in availability("gpt-4.1-nano", "supervised", when=dt.date(2026, 12, 3)) if level == "error"]
    assert error.startswith("gpt-4.1-nano-2025-04-14 was retired on 2026-10-23")
    moves = error.split("the recipe could move to ", 1)[1].split(", ")
    assert moves[0] == "openai: gpt-4.1-mini-2025-04-14"
    assert {"together: meta-llama/Meta-Llama-3.1-8B-Instruct-Reference",
            "fireworks: accounts/fireworks/models/llama-v3p1-8b-instruct", "vertex: gemini-3-flash"} <= set(moves)


@pytest.mark.parametrize("name, snapshot", [
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18"),
    ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
    ("ft:gpt-4.1-mini-2025-04-14:acme:support:AbC123", "gpt-4.1-mini-2025-04-14"),
    ("gpt-3.5-turbo", "gpt-3.5-turbo-0125"),
])
def test_lookup_by_snapshot_alias_or_fine_tuned_name(name, snapshot):
    assert model_info(name).name == snapshot


def test_unknown_model_is_none_and_warned():
    assert model_info("gpt-9-ultra") is None
    findings = availability("gpt-9-ultra", "supervised", when=dt.date(2026, 11, 23))
    assert any(level == "warning" and "not in ftx's OpenAI model catalog" in msg for level, msg in findings)


def test_retired_snapshot_is_refused_with_its_date_and_replacement():
    findings = availability("gpt-3.5-turbo", "supervised", when=dt.date(2026, 11, 23))
    errors = [msg for level, msg in findings if level == "error"]
    assert len(errors) == 1 and errors[0].startswith(
        "gpt-3.5-turbo-0125 was retired on 2026-10-23 (gpt-3.5-turbo is gpt-3.5-turbo-0125): it can no longer be "
        "fine-tuned; the recipe could move to openai: gpt-4.1-mini-2025-04-14, ")


def test_retirement_ahead_is_a_warning():
    findings = availability("gpt-3.5-turbo-0125", "supervised", when=dt.date(2026, 10, 1))
    assert any(level == "warning" and msg.startswith("gpt-3.5-turbo-0125 will be retired on 2026-10-23 (22 days), "
                                                     "taking its fine-tunes with it; the recipe could move to")
               for level, msg in findings)


def test_platform_cutoff_warns_before_and_refuses_after():
    before = availability("gpt-4o-2024-08-06", "supervised", when=dt.date(2026, 11, 23))
    assert [lvl for lvl, _ in before] == ["warning", "warning"]
    assert "OpenAI stops accepting new fine-tuning jobs on 2027-01-06 (44 days from now)" in before[1][1]
    after = availability("gpt-4o-2024-08-06", "supervised", when=dt.date(2027, 1, 6))
    assert ("error", "OpenAI stopped accepting new fine-tuning jobs on 2027-01-06") in after


def test_azure_does_not_inherit_openai_dates():
    findings = availability("gpt-3.5-turbo-0125", "supervised", backend="azure-openai", when=dt.date(2026, 11, 23))
    assert [level for level, _ in findings] == ["warning"]
    assert "Azure OpenAI fine-tuning continues for existing customers until about April 2027" in findings[0][1]


def test_method_support_is_checked():
    findings = availability("gpt-3.5-turbo-0125", "dpo", when=dt.date(2024, 1, 1))
    assert ("error", "gpt-3.5-turbo-0125 cannot be fine-tuned with method 'dpo' (it supports: supervised)") in findings


def test_override_in_ftx_home_replaces_and_adds_models(ftx_home):
    (ftx_home / "openai-models.yaml").write_text(
        "checked: 2027-02-01\nmodels:\n"
        "  gpt-4.1-nano-2025-04-14:\n    methods: [supervised]\n    train_per_1m_tokens: 2.0\n"
        "    max_example_tokens: 1000\n    azure_train_per_1m_tokens: 2.2\n"
        "  my-snapshot-2027:\n    aliases: [mine]\n    train_per_1m_tokens: 9\n", encoding="utf-8")
    catalog = get_catalog()
    assert catalog.checked == "2027-02-01" and catalog.new_jobs_until == dt.date(2027, 1, 6)
    nano = model_info("gpt-4.1-nano")
    assert (nano.train_per_1m_tokens, nano.max_example_tokens, nano.methods) == (2.0, 1000, ("supervised",))
    assert nano.price("azure-openai") == 2.2
    assert model_info("mine").name == "my-snapshot-2027"
    assert model_info("gpt-4o-mini").train_per_1m_tokens == 3.0  # untouched entries stay


def test_override_from_env_var_and_its_errors(tmp_path, monkeypatch):
    path = tmp_path / "cat.yaml"
    path.write_text("models:\n  x-1:\n    train_per_1m_tokens: cheap\n", encoding="utf-8")
    monkeypatch.setenv("FTX_OPENAI_CATALOG", str(path))
    with pytest.raises(BackendError, match=r"models.x-1.train_per_1m_tokens: must be a number"):
        get_catalog()
    path.write_text("models: [\n", encoding="utf-8")
    with pytest.raises(BackendError, match="invalid YAML"):
        get_catalog()
    monkeypatch.setenv("FTX_OPENAI_CATALOG", str(tmp_path / "missing.yaml"))
    with pytest.raises(BackendError, match="does not exist"):
        get_catalog()
