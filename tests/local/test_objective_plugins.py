"""ORPO and KTO, objectives added as plugins (ftx.plugins.objectives.orpo / .kto), trained end to
end on the tiny model: through ``ftx run`` with the shipped recipes, and in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import jsonl, quickstart_rows


def _trained_adapter(run_dir: Path) -> float:
    """The largest |weight| of the saved LoRA B matrices: 0 at initialisation, so > 0 proves training."""
    from safetensors.torch import load_file

    weights = load_file(str(run_dir / "adapter" / "adapter_model.safetensors"))
    return max(float(t.abs().max()) for k, t in weights.items() if "lora_B" in k)


@pytest.mark.slow
@pytest.mark.parametrize("name, loss_on", [("orpo", "preference (ORPO)"), ("kto", "unpaired preference (KTO)")])
def test_shipped_recipe_trains_locally_and_is_recorded(name, loss_on, tiny_model, cli):
    from ftx.registry import Registry

    r = cli("run", name, "--backend", "local", "hyperparameters.max_steps=3", "hyperparameters.batch_size=4",
            "eval.strategy=steps", "eval.steps=3", "eval.samples=[]")
    assert r.exit_code == 0, r
    with Registry() as reg:
        [run] = reg.list_runs(limit=None)
    assert run.status == "succeeded" and run.backend == "local"
    summary = json.loads((Path(run.output_dir) / "summary.json").read_text())
    assert summary["objective"] == name and summary["loss_on"] == loss_on
    assert summary["steps"] == 3 and run.metrics["final_train_loss"] == pytest.approx(summary["final_train_loss"])
    assert _trained_adapter(Path(run.output_dir)) > 0


@pytest.fixture
def feedback_files(tmp_path):
    def rows(items, start):
        out = []
        for i, r in enumerate(items):
            good = i % 3 != 0  # two desirable to one undesirable
            answer = r["messages"][1]["content"] if good else "I do not know."
            out.append({"prompt": [r["messages"][0]], "completion": [{"role": "assistant", "content": answer}],
                        "label": good})
        return out

    return (jsonl(tmp_path / "kto-train.jsonl", rows(quickstart_rows(12), 0)),
            jsonl(tmp_path / "kto-val.jsonl", rows(quickstart_rows(6, start=300), 300)))


@pytest.mark.slow
def test_kto_balances_desirable_and_undesirable_and_starts_at_the_reference(tiny_model, make_recipe,
                                                                            feedback_files, monkeypatch):
    from ftx.plugins.local import trainer as trainer_module
    from ftx.plugins.local.train import run_local

    seen = {}
    real = trainer_module.build_trainer

    def spy(objective, model, tokenizer, data, args, callbacks, **kw):
        built = real(objective, model, tokenizer, data, args, callbacks, **kw)
        seen.update(trainer=type(built).__name__, args=args)
        return built

    monkeypatch.setattr(trainer_module, "build_trainer", spy)
    lines: list[str] = []
    summary = run_local(make_recipe(*feedback_files, objective="kto", max_steps=2, beta=0.2), None,
                        echo=lines.append, progress=False)
    assert summary["status"] == "succeeded" and seen["trainer"] == "KTOTrainer"
    # 12 desirable, 6 undesirable in train + validation: desirable weigh 6/12
    assert seen["args"].desirable_weight == pytest.approx(0.5) and seen["args"].undesirable_weight == 1.0
    assert seen["args"].beta == 0.2
    assert any("12 desirable and 6 undesirable" in line for line in lines)
    # before training policy == reference: every example's loss is 1 - sigmoid(0) = 0.5, weighted
    assert summary["baseline_eval_loss"] == pytest.approx(0.5 * (0.5 * 4 + 2) / 6, abs=0.02)


@pytest.mark.slow
def test_orpo_uses_trls_orpo_trainer_without_a_reference(tiny_model, make_recipe, preference_files, monkeypatch):
    from ftx.plugins.local import trainer as trainer_module
    from ftx.plugins.local.train import run_local

    seen = {}
    real = trainer_module.build_trainer

    def spy(objective, model, tokenizer, data, args, callbacks, **kw):
        built = real(objective, model, tokenizer, data, args, callbacks, **kw)
        seen.update(trainer=type(built).__module__ + "." + type(built).__name__, beta=args.beta)
        return built

    monkeypatch.setattr(trainer_module, "build_trainer", spy)
    summary = run_local(make_recipe(*preference_files, objective="orpo", max_steps=2), None,
                        echo=lambda _: None, progress=False)
    assert summary["status"] == "succeeded" and summary["objective"] == "orpo"
    assert seen["trainer"].startswith("trl.experimental.orpo") and seen["trainer"].endswith("ORPOTrainer")
    assert seen["beta"] == 0.1  # the objective's default
    assert summary["final_train_loss"] is not None and summary["final_eval_loss"] is not None
