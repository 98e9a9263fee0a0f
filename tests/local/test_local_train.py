"""Real training on the tiny model: every method, SFT and DPO, outputs, determinism, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

METHODS = ["full", "lora", "qlora", "dora", "prefix", "prompt", "ia3"]


def run(recipe, lines=None):
    from ftx.plugins.local.train import run_local

    return run_local(recipe, None, echo=(lines.append if lines is not None else (lambda _: None)), progress=False)


@pytest.fixture
def captured(monkeypatch):
    """The in-memory model each run saves, to compare with what reloads from disk."""
    from ftx.plugins.local import outputs

    seen: dict = {}
    real = outputs.save_artifact

    def spy(model, tokenizer, run_dir, adapter):
        seen.update(model=model, tokenizer=tokenizer)
        return real(model, tokenizer, run_dir, adapter)

    monkeypatch.setattr(outputs, "save_artifact", spy)
    return seen


def logits(model, tokenizer):
    import torch

    ids = tokenizer.apply_chat_template([{"role": "user", "content": "What does a cow say?"}],
                                        add_generation_prompt=True, return_tensors="pt", return_dict=True)
    model.eval()
    with torch.no_grad():
        return model(input_ids=ids["input_ids"], attention_mask=ids["attention_mask"]).logits


def reload(summary, method_name, tiny_model):
    from peft import PeftModel

    from ftx.components import get_method
    from ftx.plugins.local.models import load_model, load_tokenizer

    path = summary["artifact"]["path"]
    if summary["artifact"]["kind"] == "model":
        return load_model(path, "float32", "cpu"), load_tokenizer(path)
    method = get_method(method_name)
    load_kwargs = getattr(method, "load_kwargs", None)
    extra = load_kwargs(method.params_model()(), {"device": "cpu"}) if load_kwargs else None
    base = load_model(str(tiny_model), "float32", "cpu", extra)
    return PeftModel.from_pretrained(base, path), load_tokenizer(path)


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_and_its_artifact_reloads(method, tiny_model, make_recipe, chat_files, captured):
    import torch

    summary = run(make_recipe(*chat_files, method=method, max_steps=2))
    assert summary["status"] == "succeeded" and summary["steps"] == 2
    assert summary["final_train_loss"] is not None and summary["final_eval_loss"] is not None
    assert 0 < summary["trainable_parameters"] <= summary["total_parameters"]
    if method != "full":
        assert summary["trainable_parameters"] < summary["total_parameters"] / 2
        assert (Path(summary["artifact"]["path"]) / "adapter_config.json").is_file()
    model, tokenizer = reload(summary, method, tiny_model)
    expected = logits(captured["model"], captured["tokenizer"])
    assert torch.allclose(logits(model, tokenizer), expected, atol=1e-5)


@pytest.mark.slow
def test_a_run_writes_every_output(tiny_model, make_recipe, chat_files):
    lines: list[str] = []
    summary = run(make_recipe(*chat_files, max_steps=4), lines)
    run_dir = Path(summary["run_dir"])
    assert run_dir.parent.name == "runs" and run_dir.name == summary["run_id"]
    for name in ("recipe.resolved.yaml", "metrics.jsonl", "loss.png", "summary.json"):
        assert (run_dir / name).is_file(), name
    assert (run_dir / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json"} <= \
        {p.name for p in (run_dir / "adapter").iterdir()}
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert records[0]["step"] == 0 and "eval_loss" in records[0]  # the baseline
    train = [r for r in records if "loss" in r]
    assert [r["step"] for r in train] == [1, 2, 3, 4]
    assert all({"epoch", "learning_rate", "grad_norm", "tokens_per_second"} <= r.keys() for r in train)
    assert [r["step"] for r in records if "eval_loss" in r] == [0, 2, 4]
    on_disk = json.loads((run_dir / "summary.json").read_text())
    assert on_disk["status"] == "succeeded" and on_disk["run_id"] == summary["run_id"]
    for key in ("final_train_loss", "final_eval_loss", "best_eval_loss", "best_eval_step", "peak_memory_mb",
                "tokens_per_second", "train_time_s", "trainable_parameters", "warnings"):
        assert key in on_disk, key
    assert on_disk["best_eval_loss"] == min(r["eval_loss"] for r in records if "eval_loss" in r)
    assert on_disk["peak_memory_kind"] == "process high-water mark (VmHWM)" and on_disk["peak_memory_mb"] > 50
    # the high-water mark sees the peaks between the per-step samples
    assert on_disk["peak_rss_mb"] >= on_disk["peak_rss_sampled_mb"] > 0
    # the part of it that is the libraries' code and mmapped weights (it varies with the page cache)
    assert 0 < on_disk["rss_file_backed_mb"] < on_disk["peak_rss_mb"]
    assert on_disk["predicted_peak_memory_mb"] > 0 and on_disk["predicted_on"].startswith("CPU")
    assert on_disk["peak_memory_error"] == pytest.approx(
        on_disk["peak_memory_mb"] / on_disk["predicted_peak_memory_mb"] - 1, abs=1e-3)
    # the working peak: the peak less the libraries' resident code, which the page cache decides
    assert 0 < on_disk["library_code_mb"] <= on_disk["rss_file_backed_mb"] + 1
    assert on_disk["peak_working_mb"] == pytest.approx(on_disk["peak_memory_mb"] - on_disk["library_code_mb"], abs=0.2)
    assert 0 < on_disk["predicted_working_mb"] < on_disk["predicted_peak_memory_mb"]
    assert on_disk["working_memory_error"] == pytest.approx(
        on_disk["peak_working_mb"] / on_disk["predicted_working_mb"] - 1, abs=1e-3)
    assert on_disk["tokens_per_second"] > 0 and on_disk["device"]["precision"] == "float32"
    samples = on_disk["samples"]
    assert len(samples) == 3 and all(s["base"] is not None and s["tuned"] is not None for s in samples)
    assert samples[0]["reference"]  # from the validation data
    text = "\n".join(lines)
    assert "baseline eval_loss" in text and "before -> after" in text and "fine-tuned:" in text
    import yaml

    resolved = yaml.safe_load((run_dir / "recipe.resolved.yaml").read_text())
    assert resolved["model"] == "ftx/tiny-llama" and resolved["method"]["name"] == "lora"


@pytest.mark.slow
def test_losses_are_deterministic(tiny_model, make_recipe, chat_files):
    def losses(summary):
        path = Path(summary["run_dir"]) / "metrics.jsonl"
        return [(r["step"], r.get("loss"), r.get("eval_loss")) for r in map(json.loads, path.read_text().splitlines())]

    recipe = make_recipe(*chat_files, max_steps=3)
    first, second = run(recipe), run(recipe)
    assert first["run_dir"] != second["run_dir"]
    assert losses(first) == losses(second)
    assert [s["tuned"] for s in first["samples"]] == [s["tuned"] for s in second["samples"]]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["lora", "full"])
def test_dpo_trains_on_preference_pairs(method, tiny_model, make_recipe, preference_files):
    summary = run(make_recipe(*preference_files, method=method, objective="dpo", max_steps=3, beta=0.2))
    assert summary["status"] == "succeeded" and summary["objective"] == "dpo"
    assert summary["baseline_eval_loss"] == pytest.approx(0.6931, abs=1e-3)  # policy == reference: ln 2
    assert summary["final_train_loss"] is not None
    assert summary["artifact"]["kind"] == ("adapter" if method == "lora" else "model")


@pytest.mark.slow
def test_completion_data_trains_without_the_chat_template(tiny_model, make_recipe, completion_files):
    summary = run(make_recipe(*completion_files, max_steps=2))
    assert summary["loss_on"] == "completion-only" and summary["prompt_format"] == "text"
    assert summary["samples"][0]["prompt"].endswith("\n")  # the raw prompt text


@pytest.mark.slow
def test_the_trainer_masks_everything_but_the_answers(tiny_model, chat_files, completion_files):
    """What TRL actually trains on: assistant tokens (chat) or the completion (prompt/completion)."""
    from ftx.data.load import iter_examples
    from ftx.plugins.local.config import sft_config
    from ftx.plugins.local.device import plan_device
    from ftx.plugins.local.models import load_model, load_tokenizer
    from ftx.plugins.local.trainer import build_trainer
    from ftx.plugins.local.trl_data import build_datasets
    from ftx.plugins.methods.catalog import Lora
    from ftx.recipe import load_recipe

    tok = load_tokenizer(str(tiny_model))
    for path in (chat_files[0], completion_files[0]):
        data = build_datasets(list(iter_examples(str(path))), [], "sft", tok)
        recipe_path = path.parent / "r.yaml"
        recipe_path.write_text(f"name: m\nmodel: {{local: ftx/tiny-llama}}\ndata: {{train: {path}}}\n")
        recipe = load_recipe(recipe_path, backend="local")
        args = sft_config(recipe, plan_device("cpu", Lora()), str(path.parent / "ck"), len(data.train), False, data.loss)
        trainer = build_trainer("sft", load_model(str(tiny_model), "float32", "cpu"), tok, data, args, [])
        row = trainer.train_dataset[0]
        trained = [label for label in row["labels"] if label != -100]
        assert 0 < len(trained) < len(row["input_ids"])
        answer = tok.decode(trained)
        expected = json.loads(path.read_text().splitlines()[0])
        expected = expected["messages"][1]["content"] if "messages" in expected else expected["completion"]
        assert answer.startswith(expected) and answer.removeprefix(expected) in ("<|end|>", "")
        question = tok.decode(row["input_ids"][: len(row["input_ids"]) - len(trained)])
        assert "?" in question  # the prompt is in the input, just not in the loss


@pytest.mark.slow
def test_output_dir_from_the_recipe_and_no_overwrite(tiny_model, make_recipe, chat_files, tmp_path):
    from ftx.errors import BackendError

    out = tmp_path / "my-run"
    recipe = make_recipe(*chat_files, max_steps=1, overrides=(f"output_dir={out}",))
    summary = run(recipe)
    assert Path(summary["run_dir"]) == out and (out / "summary.json").is_file()
    with pytest.raises(BackendError, match="already holds a finished run"):
        run(recipe)


@pytest.mark.slow
def test_cli_run_then_generate(tiny_model, cli, chat_files, tmp_path):
    recipe = tmp_path / "cli.yaml"
    train, val = chat_files
    recipe.write_text(f"""\
name: cli-run
model: {{local: ftx/tiny-llama}}
data: {{train: {train}, validation: {val}}}
method: {{name: full}}
hyperparameters: {{max_steps: 40, batch_size: 8, max_length: 48, learning_rate: 3.0e-3}}
eval: {{strategy: steps, steps: 20, samples: ["What is the opposite of up?"]}}
""")
    r = cli("run", recipe, "--backend", "local")
    assert r.exit_code == 0, r
    assert "before -> after" in r.stdout and "fine-tuned:" in r.stdout
    run_dir = next((tiny_model.parent.parent / "runs").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    tuned = summary["samples"][0]["tuned"]
    g = cli("generate", run_dir, "--prompt", "What is the opposite of up?")
    assert g.exit_code == 0, g
    assert g.stdout.strip() == tuned  # the saved model answers as the in-memory one did
    assert cli("generate", run_dir.name[:12], "--prompt", "What is the opposite of up?").stdout == g.stdout
    b = cli("generate", run_dir, "--base", "--prompt", "What is the opposite of up?", "--max-new-tokens", "32")
    assert b.exit_code == 0 and b.stdout.strip() == summary["samples"][0]["base"]


def test_generate_explains_an_unknown_target(cli):
    r = cli("generate", "no-such-run", "--prompt", "hi")
    assert r.exit_code == 2 and "no run, run folder or model folder named 'no-such-run'" in r.stderr


@pytest.mark.slow
def test_early_stopping_restores_the_best_model(tiny_model, make_recipe, chat_files):
    """A learning rate this high makes the validation loss turn up within a few evaluations."""
    lines: list[str] = []
    recipe = make_recipe(*chat_files, method="full", max_steps=30, learning_rate=0.01, warmup_ratio=0.0,
                         scheduler="constant", overrides=("eval.early_stopping_patience=2",))
    summary = run(recipe, lines)
    assert summary["early_stopped"] and summary["steps"] < 30
    assert summary["restored_best_step"] == summary["best_eval_step"] < summary["steps"]
    assert summary["final_eval_loss"] == pytest.approx(summary["best_eval_loss"], rel=1e-5)
    assert any(w.startswith("early stopping at step") for w in summary["warnings"])
    assert any(line.startswith("warning: early stopping") for line in lines)  # said live, too
    assert not (Path(summary["run_dir"]) / "checkpoints").exists()


@pytest.mark.slow
def test_a_failed_run_says_so_in_its_summary(tiny_model, make_recipe, chat_files):
    from ftx.errors import BackendError

    recipe = make_recipe(*chat_files, objective="dpo")  # chat data cannot train DPO
    with pytest.raises(BackendError, match="preference pairs"):
        run(recipe)
    run_dir = next((tiny_model.parent.parent / "runs").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and "preference pairs" in summary["error"]
