"""Recipes that used to crash, or pass when they should not (issue 9, sections 1, 3 and 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftx.errors import FtxError, RecipeError

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "recipes" / "data" / "quickstart.jsonl"

BASE = """\
name: t
model: {{local: ftx/tiny-llama, openai: gpt-4.1-mini-2025-04-14}}
data: {{train: {train}}}
method: {{name: lora}}
{extra}"""


def write(tmp_path: Path, extra: str = "", name: str = "r.yaml", train: Path = QUICKSTART) -> Path:
    path = tmp_path / name
    path.write_text(BASE.format(train=train, extra=extra), encoding="utf-8")
    return path


def load(path, *overrides, backend="local"):
    from ftx.recipe import load_recipe

    return load_recipe(path, list(overrides), backend=backend)


def one_line(exc: FtxError) -> str:
    text = "\n".join(exc.lines())
    assert "Traceback" not in text
    return text


# -- section 1: the command line wins over backends.NAME ------------------------------------------

def test_a_command_line_override_wins_over_the_backend_section(tmp_path):
    path = write(tmp_path, "backends:\n  openai:\n    hyperparameters: {epochs: 10}\n"
                           "  local:\n    hyperparameters: {epochs: 10}\n")
    for backend in ("openai", "local"):
        r = load(path, "hyperparameters.epochs=1", backend=backend)
        assert r.recipe.hyperparameters.epochs == 1, backend
        assert r.located.where(("hyperparameters", "epochs"))[0] == "<command line>"
    assert load(path, backend="openai").recipe.hyperparameters.epochs == 10  # the section still applies


def test_dry_run_shows_the_command_line_epochs(cli, tmp_path):
    path = write(tmp_path, "backends:\n  local:\n    hyperparameters: {epochs: 10}\n")
    r = cli("run", path, "--backend", "local", "--dry-run", "hyperparameters.epochs=1")
    assert r.exit_code == 0, r

    def epochs(out: str) -> list[str]:
        return [line.split() for line in out.splitlines() if line.split()[:1] == ["epochs"]][0]

    assert epochs(r.stdout) == ["epochs", "1"]
    assert epochs(cli("run", path, "--backend", "local", "--dry-run").stdout) == ["epochs", "10"]


# -- section 3: crashes become one clear line -----------------------------------------------------

BOMB = ('a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
        + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi")))


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    import time

    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    start = time.perf_counter()
    with pytest.raises(RecipeError, match="expands to more than") as info:
        load(path)
    assert time.perf_counter() - start < 2
    assert "bomb.yaml:" in one_line(info.value)


@pytest.mark.parametrize("depth", [80, 5000])
def test_deep_nesting_is_refused(tmp_path, depth):
    path = tmp_path / "deep.yaml"
    path.write_text("name: " + "[" * depth + "]" * depth + "\n")
    with pytest.raises(RecipeError, match="nested") as info:
        load(path)
    one_line(info.value)


def test_utf16_with_a_bom_is_read_and_latin1_is_refused_with_its_line(tmp_path):
    good = write(tmp_path, name="u16.yaml")
    good.write_bytes(good.read_text().encode("utf-16"))
    assert load(good).recipe.name == "t"
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(BASE.format(train=QUICKSTART, extra="description: caf\xe9\n").encode("latin-1"))
    with pytest.raises(RecipeError, match="not UTF-8") as info:
        load(bad)
    assert info.value.problems[0].line == 5


def test_a_nul_byte_is_reported_by_line(tmp_path):
    path = write(tmp_path, "description: a\x00b\n")
    with pytest.raises(RecipeError) as info:
        load(path)
    assert info.value.problems[0].line == 5 and "0x00" in str(info.value)


def test_a_missing_colon_is_reported_on_its_own_line(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: t\nmodel\n  local: x\n")
    with pytest.raises(RecipeError) as info:
        load(path)
    assert info.value.problems[0].line == 2


def test_backends_as_a_list_is_a_recipe_error_in_the_dry_run(cli, tmp_path):
    path = write(tmp_path, "backends: [local, openai]\n")
    r = cli("run", path, "--backend", "local", "--dry-run")
    assert r.exit_code == 2 and "Traceback" not in r.stderr and "backends" in r.stderr and "mapping" in r.stderr


@pytest.mark.parametrize("value", [2**32, -1])
def test_seeds_outside_numpys_range_are_refused(tmp_path, value):
    for key in ("hyperparameters.seed", "data.seed"):
        with pytest.raises(RecipeError, match=key):
            load(write(tmp_path), f"{key}={value}")
    assert load(write(tmp_path), f"hyperparameters.seed={2**32 - 1}").recipe.hyperparameters.seed == 2**32 - 1


def test_a_data_folder_and_an_unknown_format_carry_the_recipe_line(tmp_path):
    from ftx.components import get_backend
    from ftx.data.plan import plan_data

    folder = tmp_path / "data"
    folder.mkdir()
    _, problems, _ = plan_data(load(write(tmp_path, train=folder)), get_backend("local"))
    assert problems and problems[0].line == 3 and problems[0].field == "data.train" and "folder" in problems[0].message
    _, problems, _ = plan_data(load(write(tmp_path, "", name="f.yaml"), "data.format=nope"), get_backend("local"))
    assert problems and problems[0].field == "data.format" and "unknown data format 'nope'" in problems[0].message


# -- section 4: bad input refused -----------------------------------------------------------------

def test_duplicate_keys_are_refused_with_both_lines(tmp_path):
    path = write(tmp_path, "hyperparameters:\n  epochs: 1\nhyperparameters:\n  epochs: 10\n")
    with pytest.raises(RecipeError, match="duplicate key") as info:
        load(path)
    p = info.value.problems[0]
    assert p.line == 7 and p.field == "hyperparameters" and "line 5" in p.message


def test_merge_keys_are_not_duplicates(tmp_path):
    path = write(tmp_path, "hyperparameters:\n  <<: {epochs: 2}\n  epochs: 1\n")
    assert load(path).recipe.hyperparameters.epochs == 1


@pytest.mark.parametrize("override,message", [
    ("hyperparameters.learning_rate=.inf", "finite"),
    ("hyperparameters.learning_rate=.nan", "finite"),
    ("hyperparameters.epochs=true", "true/false"),
    ("hyperparameters.batch_size=false", "true/false"),
    ("data.split=true", "true/false"),
])
def test_non_numbers_are_refused(tmp_path, override, message):
    with pytest.raises(RecipeError, match=message):
        load(write(tmp_path), override)


def test_stratify_by_a_field_no_record_has_is_refused(tmp_path):
    from ftx.components import get_backend
    from ftx.data.plan import plan_data

    _, problems, _ = plan_data(load(write(tmp_path), "data.stratify_by=nosuchfield"), get_backend("local"))
    assert any(p.field == "data.stratify_by" and "nosuchfield" in p.message for p in problems)
    rows = [dict(json.loads(line), label=i % 2) for i, line in enumerate(QUICKSTART.read_text().splitlines()[:40])]
    labelled = tmp_path / "labelled.jsonl"
    labelled.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _, problems, _ = plan_data(load(write(tmp_path, train=labelled, name="l.yaml"), "data.stratify_by=label"),
                               get_backend("local"))
    assert not problems
