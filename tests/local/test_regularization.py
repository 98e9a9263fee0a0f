"""method.regularization on the local backend: L2-SP pulls the weights toward the base, EWC
estimates (and caches) its Fisher information; hosted backends refuse both by name."""

from __future__ import annotations

from pathlib import Path


def _run(recipe, lines=None):
    from ftx.plugins.local.train import run_local

    return run_local(recipe, None, echo=(lines.append if lines is not None else (lambda _: None)), progress=False)


def _distance(tuned: Path, base: Path) -> float:
    from safetensors.torch import load_file

    a = {k: v for f in sorted(tuned.glob("*.safetensors")) for k, v in load_file(f).items()}
    b = {k: v for f in sorted(base.glob("*.safetensors")) for k, v in load_file(f).items()}
    shared = sorted(set(a) & set(b))
    assert shared
    return float(sum(((a[k].float() - b[k].float()) ** 2).sum() for k in shared) ** 0.5)


def test_l2sp_pulls_full_fine_tuning_toward_the_base(tiny_model, make_recipe, chat_files):
    train, val = chat_files
    hp = {"max_steps": 12, "learning_rate": 3e-3, "warmup_ratio": 0.0}
    plain = _run(make_recipe(train, val, method="full", name="plain", **hp))
    reg = _run(make_recipe(train, val, method="full", name="l2sp", overrides=(
        "method.regularization.kind=l2sp", "method.regularization.strength=5.0"), **hp))
    assert plain["steps"] == reg["steps"] == 12
    d_plain = _distance(Path(plain["artifact"]["path"]), tiny_model)
    d_reg = _distance(Path(reg["artifact"]["path"]), tiny_model)
    assert d_reg < 0.8 * d_plain, (d_reg, d_plain)
    assert reg["regularization"]["kind"] == "l2sp" and reg["regularization"]["final_penalty"] > 0
    assert abs(reg["regularization"]["distance_from_start"] - d_reg) < 1e-3 * max(d_reg, 1.0)


def test_ewc_trains_an_adapter_and_caches_its_fisher(tiny_model, make_recipe, chat_files, ftx_home):
    train, val = chat_files
    over = ("method.regularization.kind=ewc", "method.regularization.strength=100", "method.regularization.fisher_examples=8")
    lines: list[str] = []
    first = _run(make_recipe(train, val, method="lora", name="ewc", overrides=over), lines)
    assert first["status"] == "succeeded" and first["regularization"]["kind"] == "ewc"
    assert any("estimating the Fisher information on 8 examples of ftx:general" in line for line in lines)
    assert len(list((ftx_home / "cache" / "ewc").glob("*.pt"))) == 1
    lines.clear()
    _run(make_recipe(train, val, method="lora", name="ewc2", overrides=over), lines)
    assert any("Fisher information from the cache" in line for line in lines)


def test_hosted_backends_refuse_regularization_by_name(cli):
    r = cli("run", "quickstart", "--backend", "openai", "--dry-run", "method.regularization.kind=l2sp")
    assert r.exit_code != 0
    assert "method.regularization" in r.stderr and "'openai' cannot regularise" in r.stderr
    ok = cli("run", "quickstart", "--backend", "local", "--dry-run", "method.regularization.kind=l2sp")
    assert ok.exit_code == 0, ok
