"""The learning-rate advice follows fine-tuning practice for pretrained models, and is skipped for a
base model its backend says starts from random weights (``Backend.random_weights``): the core asks
the backend, it does not know the embedded tiny model's name."""

from __future__ import annotations

from ftx.recipe import load_recipe

RECIPE = """\
name: lr
model: {{local: {model}}}
data: {{train: train.jsonl}}
method: {{name: {method}}}
hyperparameters: {{learning_rate: {lr}}}
"""


def lr_warnings(write, model: str, method: str, lr: str) -> list[str]:
    write("train.jsonl", '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n')
    recipe = load_recipe(write("r.yaml", RECIPE.format(model=model, method=method, lr=lr)), backend="local")
    return [p.message for p in recipe.warnings if p.field == "hyperparameters.learning_rate"]


def test_practice_rates_warn_for_a_pretrained_model(write, tmp_path):
    pretrained = tmp_path / "my-model"  # a local model folder: pretrained as far as ftx knows
    pretrained.mkdir()
    assert lr_warnings(write, str(pretrained), "lora", "3.0e-3") == [
        "0.003 is far from the usual LoRA range 1e-5..5e-4 (default 2e-4)"]
    assert lr_warnings(write, str(pretrained), "full", "2.0e-4") == [
        "0.0002 is high for full fine-tuning (practice: ~2e-5); expect divergence or forgetting"]
    assert lr_warnings(write, str(pretrained), "lora", "2.0e-4") == []


def test_no_practice_rate_warning_for_a_model_with_random_weights(write):
    from ftx.components import backends

    local = backends()["local"]
    assert local.random_weights("ftx/tiny-llama") and not local.random_weights("meta-llama/Llama-3.2-1B")
    assert lr_warnings(write, "ftx/tiny-llama", "lora", "3.0e-3") == []
    assert lr_warnings(write, "ftx/tiny-llama", "full", "2.0e-4") == []
