"""The device catalog (gpus.yaml), its overrides, and plugins' price tables."""

from __future__ import annotations

import pytest

from ftx import hookimpl
from ftx.cost.catalog import CostError, default_devices, find_device, load_devices, model_keys, price_for
from ftx.estimate import PriceTable
from ftx.pluginmanager import get_plugins


def test_shipped_catalog_has_the_usual_ladder_with_sources_and_dates():
    devices = load_devices()
    assert [d.key for d in default_devices(devices)][:8] == [
        "cpu", "t4", "l4", "a10g", "rtx4090", "a100-40gb", "a100-80gb", "h100"]
    for d in devices.values():
        assert d.memory_gb > 0 and d.peak_tflops > 0 and 0 < d.mfu <= 1
        assert d.source and d.date[:2] == "20"
    assert devices["h100"].memory_gb == 80 and devices["h100"].peak_tflops == 989
    assert devices["t4"].precision == "fp16"  # no bf16 tensor cores
    assert devices["cpu"].usd_per_hour == 0 and devices["cpu"].is_cpu


def test_find_device_by_key_name_or_alias():
    assert find_device("H100").key == "h100"
    assert find_device("RTX 4090").key == "rtx4090"
    assert find_device("a100").key == "a100-80gb"
    with pytest.raises(CostError, match="unknown GPU 'b9000'"):
        find_device("b9000")


def test_user_file_in_ftx_home_overrides_field_by_field(ftx_home):
    (ftx_home / "gpus.yaml").write_text("h100: {usd_per_hour: 1.99, source: my rate}\n"
                                        "mi300x: {name: MI300X, memory_gb: 192, peak_tflops: 1307, usd_per_hour: 4}\n")
    devices = load_devices()
    assert devices["h100"].usd_per_hour == 1.99 and devices["h100"].source == "my rate"
    assert devices["h100"].memory_gb == 80  # untouched fields stay
    assert devices["mi300x"].memory_gb == 192
    assert default_devices(devices)[-1].key == "mi300x"


def test_ftx_gpus_env_names_the_override(tmp_path, monkeypatch):
    path = tmp_path / "g.yaml"
    path.write_text("cpu: {cores: 64}\n")
    monkeypatch.setenv("FTX_GPUS", str(path))
    cpu = load_devices()["cpu"]
    assert cpu.name == "CPU x64" and cpu.peak_tflops == pytest.approx(64 * 0.096)
    monkeypatch.setenv("FTX_GPUS", str(tmp_path / "missing.yaml"))
    with pytest.raises(CostError, match="FTX_GPUS"):
        load_devices()


def test_broken_override_is_one_clear_error(ftx_home):
    (ftx_home / "gpus.yaml").write_text("h100: [1, 2]\n")
    with pytest.raises(CostError, match="maps names to mappings"):
        load_devices()


def test_model_keys_fall_back_from_fine_tuned_and_dated_names_but_never_by_prefix():
    assert model_keys("ft:gpt-4o-mini-2024-07-18:acme::abc") == ["gpt-4o-mini-2024-07-18", "gpt-4o-mini"]
    assert model_keys("gemini-2.0-flash-001") == ["gemini-2.0-flash-001", "gemini-2.0-flash"]
    table = PriceTable("t", "openai", "2026-01-01", "test", {"gpt-4.1": {"train_per_1m_tokens": 25}})
    assert price_for("openai", "gpt-4.1-nano", [table]) is None
    assert price_for("openai", "gpt-4.1-2025-04-14", [table])[0]["train_per_1m_tokens"] == 25


class CheaperOpenAI:
    @hookimpl
    def ftx_register_price_tables(self, register):
        register(PriceTable("negotiated", "openai", "2026-11-01", "our contract",
                            {"gpt-4.1-mini-2025-04-14": {"train_per_1m_tokens": 1.0}}))


def test_a_later_plugin_table_overrides_the_builtin_price_for_that_model_only():
    entry, table = price_for("openai", "gpt-4.1-mini")
    assert table.name.startswith("ftx OpenAI catalog") and entry["train_per_1m_tokens"] == 5.0
    get_plugins().register(CheaperOpenAI(), "cheaper")
    entry, table = price_for("openai", "gpt-4.1-mini")
    assert (entry["train_per_1m_tokens"], table.source) == (1.0, "our contract")
    assert price_for("openai", "gpt-4.1-nano")[0]["train_per_1m_tokens"] == 1.5


def test_a_user_cpu_device_is_priced_and_sized_like_the_cpu(ftx_home):
    (ftx_home / "gpus.yaml").write_text("big-cpu: {name: Big CPU, kind: cpu, cores: 64, memory_gb: 512, "
                                        "usd_per_hour: 2.0}\n")
    dev = load_devices()["big-cpu"]
    assert dev.is_cpu and dev.precision == "fp32" and dev.memory_gb == 512
    assert dev.peak_tflops == pytest.approx(64 * 0.096)
