"""``ftx export --merge``: merged models reproduce their adapters, or nothing is exported."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

DELTA = re.compile(r"max \|delta logits\| ([0-9.e+-]+|nan|inf) \(?(?:> )?tolerance ([0-9.e+-]+)")
PROMPTS = ["What sound does a cow make?", "What is the opposite of hot?"]


def train(files, tmp_path: Path, method: str = "lora", steps: int = 4) -> tuple[str, Path]:
    """A short run through the planner, recorded in the registry like ``ftx run``: (run id, folder)."""
    from ftx.planning import execute, plan_run

    train_file, val_file = files
    recipe = tmp_path / f"export-{method}.yaml"
    recipe.write_text(json.dumps({
        "name": f"export-{method}", "model": {"local": "ftx/tiny-llama"},
        "data": {"train": str(train_file), "validation": str(val_file)}, "method": {"name": method},
        "hyperparameters": {"max_steps": steps, "batch_size": 4, "max_length": 48, "learning_rate": 1e-2},
        "eval": {"strategy": "no"}}), encoding="utf-8")
    plan = plan_run(str(recipe), "local")
    summary = execute(plan)
    assert summary["status"] == "succeeded"
    return plan.run_id, Path(summary["run_dir"])


def reported_delta(stdout: str) -> tuple[float, float]:
    match = DELTA.search(stdout)
    assert match, stdout
    return float(match.group(1)), float(match.group(2))


def registry_run(run_id: str):
    from ftx.registry import Registry

    with Registry() as registry:
        return registry.get_run(run_id), registry.events(run_id)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["lora", "dora", "ia3", "qlora"])
def test_merge_reproduces_the_adapter_and_is_recorded(method, tiny_model, chat_files, tmp_path, cli):
    import torch
    from safetensors.torch import load_file

    run_id, run_dir = train(chat_files, tmp_path, method)
    r = cli("export", run_id[:15], "--merge")
    assert r.exit_code == 0, r
    delta, tolerance = reported_delta(r.stdout)
    assert delta < 1e-4 and tolerance >= 1e-4
    merged = run_dir / "merged"
    names = {p.name for p in merged.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "ftx_export.json"} <= names
    assert "adapter_config.json" not in names and not leftovers(run_dir)
    config = json.loads((merged / "config.json").read_text())
    assert config["model_type"] == "llama" and "quantization_config" not in config
    weights = load_file(str(merged / "model.safetensors"))
    assert not any("lora" in k or "ia3" in k or "base_layer" in k for k in weights)  # plain Llama weights
    assert all(w.dtype == torch.float32 for w in weights.values())
    info = json.loads((merged / "ftx_export.json").read_text())
    assert info["run_id"] == run_id and info["check"]["ok"]
    assert info["check"]["max_abs_delta"] == pytest.approx(delta, rel=0.01)
    assert info["dequantized_base"] is (method == "qlora")
    run, events = registry_run(run_id)
    assert run.artifacts["merged"] == str(merged) and run.artifacts["adapter"] == str(run_dir / "adapter")
    assert any("exported the merged model" in e.message for e in events)


@pytest.mark.slow
def test_the_merged_model_answers_as_the_adapter_does(tiny_model, chat_files, tmp_path, cli):
    """Greedy generation from the merged folder equals generation from the run (adapter on base);
    and the check is not vacuous: the adapter moved the model away from its base."""
    from ftx.plugins.local.models import load_model, load_tokenizer
    from ftx.plugins.local.merge_check import check_inputs, logits_of

    run_id, run_dir = train(chat_files, tmp_path, "lora", steps=8)
    assert cli("export", run_dir, "--merge").exit_code == 0
    merged = run_dir / "merged"
    for prompt in PROMPTS:
        from_adapter = cli("generate", run_id, "--prompt", prompt)
        from_merged = cli("generate", merged, "--prompt", prompt)
        assert from_adapter.exit_code == 0 and from_merged.exit_code == 0, (from_adapter, from_merged)
        assert from_merged.stdout == from_adapter.stdout
    tokenizer = load_tokenizer(str(merged))
    inputs = check_inputs(tokenizer, [{"prompt": PROMPTS[0], "reference": "Moo."}], chat=True)
    base = logits_of(load_model(str(tiny_model), "float32", "cpu"), inputs)[0]
    tuned = logits_of(load_model(str(merged), "float32", "cpu"), inputs)[0]
    assert (base - tuned).abs().max().item() > 1e-2


@pytest.mark.slow
def test_a_mismatch_fails_loudly_and_exports_nothing(tiny_model, chat_files, tmp_path, cli, monkeypatch):
    import torch

    from ftx.plugins.local import export

    real = export.merge_adapter

    def broken_merge(model):
        merged = real(model)
        with torch.no_grad():
            merged.model.layers[0].self_attn.v_proj.weight.add_(0.05)
        return merged

    monkeypatch.setattr(export, "merge_adapter", broken_merge)
    run_id, run_dir = train(chat_files, tmp_path)
    r = cli("export", run_id, "--merge")
    assert r.exit_code != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the merged model does not reproduce the adapter"), r
    delta, tolerance = reported_delta(lines[0])
    assert delta > tolerance
    assert "nothing was exported" in lines[0]
    assert not (run_dir / "merged").exists() and not leftovers(run_dir)
    run, _ = registry_run(run_id)
    assert "merged" not in run.artifacts and run.status == "succeeded"


@pytest.mark.slow
def test_an_existing_export_is_replaced_only_with_force(tiny_model, chat_files, tmp_path, cli):
    run_id, run_dir = train(chat_files, tmp_path, steps=2)
    out = tmp_path / "elsewhere"
    assert cli("export", run_id, "--merge", "--out", out).exit_code == 0
    again = cli("export", run_id, "--merge", "--out", out)
    assert again.exit_code == 2 and "already exists; pass --force" in again.stderr
    forced = cli("export", run_id, "--merge", "--out", out, "--force", "--json")
    assert forced.exit_code == 0, forced
    result = json.loads(forced.stdout)
    assert result["path"] == str(out.resolve()) and result["check"]["ok"] and result["recorded"]
    assert (out / "model.safetensors").is_file() and not leftovers(tmp_path)
    protect = cli("export", run_id, "--merge", "--out", run_dir, "--force")
    assert protect.exit_code == 2 and "would replace the run's own files" in protect.stderr
    assert (run_dir / "adapter" / "adapter_config.json").is_file()


@pytest.mark.slow
def test_bfloat16_export_is_checked_against_a_bfloat16_tolerance(tiny_model, chat_files, tmp_path, cli):
    import torch
    from safetensors.torch import load_file

    run_id, run_dir = train(chat_files, tmp_path, steps=2)
    r = cli("export", run_id, "--merge", "--dtype", "bfloat16", "--json")
    assert r.exit_code == 0, r
    check = json.loads(r.stdout)["check"]
    # Rounding every weight to bfloat16 moves the logits well above float32 noise, within its tolerance.
    assert 1e-4 < check["max_abs_delta"] <= check["tolerance"] <= 0.03 * max(1.0, check["logit_scale"])
    assert all(w.dtype == torch.bfloat16 for w in load_file(str(run_dir / "merged" / "model.safetensors")).values())


@pytest.mark.slow
@pytest.mark.parametrize("method, message", [
    ("prefix", "method prefix cannot be merged: it learns virtual tokens"),
    ("prompt", "method prompt cannot be merged: it learns virtual tokens"),
    ("full", "trained every weight (method full)"),
])
def test_methods_that_cannot_be_merged_say_why(method, message, tiny_model, chat_files, tmp_path, cli):
    run_id, run_dir = train(chat_files, tmp_path, method, steps=1)
    r = cli("export", run_id, "--merge")
    assert r.exit_code == 2 and message in r.stderr, r
    assert not (run_dir / "merged").exists()


@pytest.mark.slow
def test_completion_runs_export_and_generate_from_raw_text(tiny_model, completion_files, tmp_path, cli):
    run_id, run_dir = train(completion_files, tmp_path, steps=4)
    assert cli("export", run_id, "--merge").exit_code == 0
    assert json.loads((run_dir / "merged" / "ftx_export.json").read_text())["prompt_format"] == "text"
    prompt = "What sound does a cow make?\n"
    merged = cli("generate", run_dir / "merged", "--prompt", prompt)
    assert merged.exit_code == 0 and merged.stdout == cli("generate", run_id, "--prompt", prompt).stdout


def test_export_needs_a_kind_of_export(cli):
    r = cli("export", "some-run")
    assert r.exit_code == 2 and "--merge" in r.stderr


def test_export_of_an_unknown_run_says_so(cli):
    r = cli("export", "no-such-run", "--merge")
    assert r.exit_code == 2 and "no run, run folder or model folder named 'no-such-run'" in r.stderr
