"""Device-aware defaults and the recipe -> TRL config mapping (no training)."""

from __future__ import annotations

import pytest

from ftx.plugins.local.device import DevicePlan, cpu_threads, plan_device
from ftx.plugins.methods.catalog import Full, Lora, Prefix, Qlora


def test_cpu_is_float32_without_checkpointing_for_every_method():
    for method in (Full(), Lora(), Qlora(), Prefix()):
        plan = plan_device("cpu", method)
        assert (plan.device, plan.model_dtype, plan.bf16, plan.fp16, plan.gradient_checkpointing) == \
            ("cpu", "float32", False, False, False)
        assert plan.precision == "float32"


def test_cuda_uses_bf16_and_checkpoints_except_prefix_tuning():
    lora = plan_device("cuda", Lora(), bf16_supported=True)
    assert lora.bf16 and not lora.fp16 and lora.model_dtype == "bfloat16" and lora.gradient_checkpointing
    full = plan_device("cuda", Full(), bf16_supported=True)
    assert full.bf16 and full.model_dtype == "float32"  # float32 master weights under autocast
    assert not plan_device("cuda", Prefix(), bf16_supported=True).gradient_checkpointing
    old_gpu = plan_device("cuda", Lora(), bf16_supported=False)
    assert old_gpu.fp16 and not old_gpu.bf16 and old_gpu.model_dtype == "float32"


def test_checkpointing_option_overrides_the_default():
    assert plan_device("cpu", Lora(), gradient_checkpointing=True).gradient_checkpointing
    assert not plan_device("cuda", Lora(), bf16_supported=True, gradient_checkpointing=False).gradient_checkpointing


def test_tiny_models_train_on_one_cpu_thread():
    assert cpu_threads(200_000, None) == 1
    assert cpu_threads(500_000_000, None) is None
    assert cpu_threads(200_000, 4) == 4


def value(enum_or_str):
    return getattr(enum_or_str, "value", enum_or_str)


CPU = DevicePlan("cpu", "float32", bf16=False, fp16=False, gradient_checkpointing=False)


def _recipe(write, extra: str = ""):
    from ftx.recipe import load_recipe

    write("t.jsonl", "")
    path = write("r.yaml", f"""\
name: cfg
model: {{local: ftx/tiny-llama}}
data: {{train: t.jsonl}}
hyperparameters:
  epochs: 2
  learning_rate: 0.001
  batch_size: 8
  gradient_accumulation: 2
  warmup_ratio: 0.1
  scheduler: linear
  weight_decay: 0.01
  max_grad_norm: 0.5
  max_length: 64
  seed: 7
{extra}""")
    return load_recipe(path, backend="local")


def test_sft_config_maps_the_hyperparameters_on_cpu(write, tmp_path):
    from ftx.plugins.local.config import sft_config

    cfg = sft_config(_recipe(write), CPU, str(tmp_path / "ck"), n_train=160, has_eval=True, loss="assistant-only")
    assert (cfg.num_train_epochs, cfg.learning_rate, cfg.per_device_train_batch_size) == (2, 0.001, 8)
    assert (cfg.gradient_accumulation_steps, cfg.warmup_steps, cfg.weight_decay) == (2, 0.1, 0.01)
    assert (cfg.max_grad_norm, cfg.max_length, cfg.seed, cfg.data_seed) == (0.5, 64, 7, 7)
    assert value(cfg.lr_scheduler_type) == "linear"
    assert cfg.bf16 is False and cfg.fp16 is False and cfg.use_cpu is True
    assert cfg.gradient_checkpointing is False  # TRL's default is True: it must be switched off
    assert cfg.assistant_only_loss is True and cfg.packing is False
    assert cfg.report_to in ([], "none", ["none"]) and cfg.push_to_hub is False
    assert value(cfg.eval_strategy) == "epoch" and value(cfg.save_strategy) == "no"
    assert cfg.max_steps == -1


def test_no_validation_means_no_evaluation(write, tmp_path):
    from ftx.plugins.local.config import sft_config

    cfg = sft_config(_recipe(write), CPU, str(tmp_path), n_train=10, has_eval=False, loss="completion-only")
    assert value(cfg.eval_strategy) == "no" and cfg.assistant_only_loss is False


def test_early_stopping_keeps_the_best_checkpoint(write, tmp_path):
    from ftx.plugins.local.config import sft_config

    recipe = _recipe(write, "eval: {strategy: steps, steps: 5, early_stopping_patience: 2}\n")
    cfg = sft_config(recipe, CPU, str(tmp_path), n_train=160, has_eval=True, loss="assistant-only")
    assert cfg.load_best_model_at_end and cfg.metric_for_best_model == "eval_loss"
    assert value(cfg.save_strategy) == "steps" and cfg.save_steps == 5 and cfg.eval_steps == 5


def test_dpo_config_takes_beta(write, tmp_path):
    from ftx.plugins.local.config import dpo_config

    recipe = _recipe(write, "objective: dpo\n")
    cfg = dpo_config(recipe, CPU, str(tmp_path), n_train=40, has_eval=False)
    assert cfg.beta == pytest.approx(0.1) and cfg.bf16 is False and cfg.gradient_checkpointing is False


def test_recipe_options_for_the_local_backend(write):
    from ftx.errors import RecipeError
    from ftx.recipe import load_recipe

    write("t.jsonl", "")
    ok = write("ok.yaml", "name: o\nmodel: {local: m}\ndata: {train: t.jsonl}\n"
                          "backends: {local: {device: cpu, cpu_threads: 2}}\n")
    assert load_recipe(ok, backend="local").options.device == "cpu"
    bad = write("bad.yaml", "name: o\nmodel: {local: m}\ndata: {train: t.jsonl}\nbackends: {local: {device: tpu}}\n")
    with pytest.raises(RecipeError, match="device"):
        load_recipe(bad, backend="local")
