"""The CPU row's per-step overhead follows this machine's speed: the calibration machine's
``step_overhead_s`` times this CPU's probe over the probe's time there (``ftx.cost.cpu_speed``),
unless the user gives their own."""

from __future__ import annotations

import pytest

from ftx.cost import cpu_speed
from ftx.cost.catalog import load_devices


@pytest.fixture
def probe(monkeypatch):
    def set_probe(seconds: float) -> None:
        monkeypatch.setattr(cpu_speed, "probe_seconds", lambda: seconds)

    return set_probe


def test_the_probe_is_a_short_repeatable_timing():
    cpu_speed.probe_seconds.cache_clear()
    first = cpu_speed.probe_seconds()
    assert 0 < first < 0.1 and cpu_speed.probe_seconds() == first  # measured once per process


def test_a_slower_cpu_gets_a_proportionally_larger_step_overhead(probe):
    probe(0.00105)  # the calibration machine's own probe time
    cpu = load_devices()["cpu"]
    assert cpu.step_overhead_s == pytest.approx(0.0075) and cpu.calibration_step_overhead_s == 0.0075
    probe(0.0021)  # twice as slow
    assert load_devices()["cpu"].step_overhead_s == pytest.approx(0.015)
    probe(1.0)  # a pathological probe is clamped
    assert load_devices()["cpu"].step_overhead_s == pytest.approx(0.0075 * cpu_speed.CLAMP[1])
    assert load_devices()["t4"].step_overhead_s == 0.05  # GPUs are not probed


def test_the_users_own_step_overhead_is_not_scaled(probe, ftx_home):
    probe(0.0042)
    (ftx_home / "gpus.yaml").write_text("cpu: {step_overhead_s: 0.02}\n")
    cpu = load_devices()["cpu"]
    assert cpu.step_overhead_s == 0.02 and cpu.calibration_step_overhead_s is None
    (ftx_home / "gpus.yaml").write_text("cpu: {mfu: 0.3}\n")  # other fields: still scaled
    assert load_devices()["cpu"].step_overhead_s == pytest.approx(0.03)


def test_the_local_estimate_says_how_the_step_overhead_was_scaled(probe, ftx_home, tmp_path):
    from ftx.cost.compare import estimate_all

    probe(0.0021)
    train = tmp_path / "train.jsonl"
    train.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n' * 20)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: s\nmodel: {{local: ftx/tiny-llama}}\ndata: {{train: {train}}}\n")
    (est,) = estimate_all(str(recipe), ["local"], gpu="cpu")
    assert est.assumptions["step overhead"] == (
        "0.0150 s (0.0075 s on the calibration CPU x 2.00, this CPU's speed probe)")
    assert est.time_breakdown["step_overhead_s"] == pytest.approx(0.015 * est.assumptions["optimizer steps"], abs=0.01)
