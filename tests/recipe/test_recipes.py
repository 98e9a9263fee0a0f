"""Recipes: schema, every-error-at-once reporting with file:line, overrides, defaults, shipped files."""

from __future__ import annotations

import pytest

from ftx.errors import PluginError, RecipeError
from ftx.recipe import load_recipe
from ftx.recipe.shipped import shipped_recipes, usage_line

GOOD = """\
name: demo
model: {local: ftx/tiny-llama, openai: gpt-4.1-mini-2025-04-14}
data:
  train: train.jsonl
method:
  name: lora
"""


def test_every_shipped_recipe_validates_and_opens_with_its_run_line():
    shipped = shipped_recipes()
    assert "quickstart" in shipped and len(shipped) >= 4
    for name, path in shipped.items():
        line = usage_line(path)
        assert line and line.startswith(f"ftx run {name}"), (name, line)
        r = load_recipe(path)
        assert r.recipe.name == name


def test_quickstart_names_a_model_for_local_openai_and_vertex():
    r = load_recipe("quickstart")
    assert {"local", "openai", "vertex"} <= set(r.recipe.model)
    for backend in ("local", "openai", "vertex"):
        assert load_recipe("quickstart", backend=backend).model == r.recipe.model[backend]


def test_all_errors_reported_at_once_with_file_line_and_field(write):
    path = write("bad.yaml", """\
name: demo
model: {local: x}
data:
  train: t.jsonl
  bogus: 1
method:
  name: lora
  r: many
  rank: 3
hyperparameters:
  epochs: 0
  learning_rate: -1
  scheduler: sawtooth
""")
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    lines = [str(p) for p in err.value.problems]
    assert lines == [
        "bad.yaml:5: data.bogus: unknown key".replace("bad.yaml", str(path)),
        f"{path}:8: method.r: must be an integer",
        f"{path}:9: method.rank: unknown key",
        f"{path}:11: hyperparameters.epochs: must be at least 1",
        f"{path}:12: hyperparameters.learning_rate: must be > 0.0",
        f"{path}:13: hyperparameters.scheduler: must be 'cosine', 'linear', 'constant' or 'constant_with_warmup'",
    ]


def test_missing_required_keys_and_invalid_yaml(write):
    with pytest.raises(RecipeError) as err:
        load_recipe(write("r.yaml", "name: x\n"))
    text = str(err.value)
    assert "model: required key is missing" in text and "data: required key is missing" in text
    with pytest.raises(RecipeError) as err:
        load_recipe(write("y.yaml", "name: x\nmodel: [unclosed\n"))
    assert "invalid YAML" in str(err.value) and err.value.problems[0].line is not None


def test_unknown_method_lists_installed(write):
    with pytest.raises(RecipeError) as err:
        load_recipe(write("r.yaml", GOOD.replace("name: lora", "name: lorax")))
    assert "unknown method 'lorax'; installed: dora, full, ia3, lora, prefix, prompt, qlora" in str(err.value)


def test_method_defaults_follow_practice(write):
    lora = load_recipe(write("a.yaml", GOOD))
    assert lora.recipe.hyperparameters.learning_rate == 2e-4
    assert (lora.method_params.r, lora.method_params.alpha, lora.method_params.dropout) == (16, 32, 0.05)
    assert lora.defaults["hyperparameters.learning_rate"] == "default for method lora"
    full = load_recipe(write("b.yaml", GOOD.replace("name: lora", "name: full")))
    assert full.recipe.hyperparameters.learning_rate == 2e-5
    hp = full.recipe.hyperparameters
    assert (hp.epochs, hp.scheduler, hp.warmup_ratio) == (3, "cosine", 0.03)


def test_command_line_overrides(write):
    path = write("a.yaml", GOOD)
    r = load_recipe(path, ["hyperparameters.epochs=5", "method.r=8", "data.split=0.1"])
    assert r.recipe.hyperparameters.epochs == 5 and r.method_params.r == 8 and r.recipe.data.split == 0.1
    assert r.is_set("hyperparameters.epochs")
    with pytest.raises(RecipeError) as err:
        load_recipe(path, ["hyperparameters.epochs=lots", "hyperparameters.colour=red"])
    assert [str(p) for p in err.value.problems] == [
        "<command line>: hyperparameters.colour: unknown key",
        "<command line>: hyperparameters.epochs: must be an integer or must be 'auto'",
    ]
    with pytest.raises(RecipeError, match="not key=value"):
        load_recipe(path, ["epochs"])


def test_backend_sections_merge_only_for_their_backend_and_are_checked(write):
    path = write("a.yaml", GOOD + """\
backends:
  local:
    hyperparameters: {batch_size: 16}
  openai:
    suffix: demo
    hyperparameters: {epochs: auto}
""")
    assert load_recipe(path, backend="local").recipe.hyperparameters.batch_size == 16
    openai = load_recipe(path, backend="openai")
    assert openai.recipe.hyperparameters.batch_size == 4
    assert openai.recipe.hyperparameters.epochs == "auto" and openai.options.suffix == "demo"
    bad = write("b.yaml", GOOD + """\
backends:
  openai:
    suffix: "%s"
    colour: red
    hyperparameters: {epochs: nope}
""" % ("x" * 80))
    with pytest.raises(RecipeError) as err:
        load_recipe(bad)
    text = str(err.value)
    assert f"{bad}:9: backends.openai.suffix:" in text
    assert f"{bad}:10: backends.openai.colour: unknown key" in text
    assert f"{bad}:11: backends.openai.hyperparameters.epochs: must be an integer" in text


def test_section_for_backend_not_installed_is_a_warning(write):
    r = load_recipe(write("a.yaml", GOOD + "backends:\n  modal:\n    gpu: h100\n"))
    assert any("backend 'modal' is not installed" in str(w) for w in r.warnings)
    with pytest.raises(PluginError, match="unknown backend 'modal'; installed: .*local, openai.*vertex"):
        load_recipe(write("b.yaml", GOOD), backend="modal")


def test_practice_warnings(write):
    r = load_recipe(write("a.yaml", GOOD.replace("name: lora", "name: full")),
                    ["hyperparameters.learning_rate=2e-4", "hyperparameters.epochs=20"])
    text = "\n".join(map(str, r.warnings))
    assert "high for full fine-tuning" in text and "risks overfitting" in text


def test_validation_and_split_are_exclusive(write):
    with pytest.raises(RecipeError, match="either data.validation or data.split"):
        load_recipe(write("a.yaml", GOOD.replace("  train: train.jsonl", "  train: t.jsonl\n  validation: v.jsonl\n  split: 0.2")))


def test_recipes_cli(cli, write, tmp_path, monkeypatch):
    r = cli("recipes", "list")
    assert r.exit_code == 0 and "quickstart" in r.stdout and "ftx run quickstart" in r.stdout
    r = cli("recipes", "show", "quickstart", "--resolved", "--backend", "local")
    assert r.exit_code == 0, r
    assert "batch_size: 8\n" in r.stdout and "learning_rate: 0.003\n" in r.stdout  # backends.local
    r = cli("recipes", "show", "quickstart", "--resolved", "--backend", "openai")
    assert "learning_rate: 0.0002  # default for method lora" in r.stdout
    assert "batch_size: 4  # default" in r.stdout
    bad = write("bad.yaml", "name: x\nmodel: {local: m}\ndata: {train: t.jsonl, bogus: 1}\n")
    r = cli("recipes", "validate", str(bad))
    assert r.exit_code == 2
    assert r.stderr.strip() == f"error: {bad}:3: data.bogus: unknown key"
    assert "Traceback" not in r.output
    monkeypatch.chdir(tmp_path)
    r = cli("recipes", "init", "mine.yaml")
    assert r.exit_code == 0, r
    assert (tmp_path / "mine.yaml").exists() and (tmp_path / "data" / "quickstart.jsonl").exists()
    assert (tmp_path / "data" / "quickstart-test.jsonl").exists()  # eval.test travels too
    assert cli("recipes", "validate", "mine.yaml").exit_code == 0
    assert cli("recipes", "init", "mine.yaml").exit_code == 2  # no silent overwrite
