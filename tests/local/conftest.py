"""Fixtures for the local backend: the tiny model built once per session, small recipes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

QUICKSTART = ROOT / "recipes" / "data" / "quickstart.jsonl"


@pytest.fixture(scope="session")
def tiny_model_build(tmp_path_factory) -> Path:
    """The tiny model, built once for the whole session (into its own folder)."""
    from ftx.plugins.local.tiny_model import build_tiny_model

    out = tmp_path_factory.mktemp("tiny-build") / "model"
    out.mkdir()
    build_tiny_model(out)
    return out


@pytest.fixture
def tiny_model(tiny_model_build, ftx_home) -> Path:
    """The session's tiny model copied into this test's ftx home, where ``ftx/tiny-llama`` resolves."""
    from ftx.plugins.local.tiny_model import tiny_model_dir

    target = tiny_model_dir()
    if not target.exists():
        shutil.copytree(tiny_model_build, target)
    return target


def quickstart_rows(n: int, start: int = 0) -> list[dict]:
    rows = [json.loads(line) for line in QUICKSTART.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows[start:start + n]


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def chat_files(tmp_path) -> tuple[Path, Path]:
    return (jsonl(tmp_path / "train.jsonl", quickstart_rows(24)),
            jsonl(tmp_path / "val.jsonl", quickstart_rows(8, start=300)))


@pytest.fixture
def preference_files(tmp_path) -> tuple[Path, Path]:
    def pairs(rows):
        return [{"prompt": [r["messages"][0]],
                 "chosen": [r["messages"][1]],
                 "rejected": [{"role": "assistant", "content": "I do not know."}]} for r in rows]

    return (jsonl(tmp_path / "pref-train.jsonl", pairs(quickstart_rows(16))),
            jsonl(tmp_path / "pref-val.jsonl", pairs(quickstart_rows(4, start=300))))


@pytest.fixture
def completion_files(tmp_path) -> tuple[Path, Path]:
    def pc(rows):
        return [{"prompt": r["messages"][0]["content"] + "\n", "completion": r["messages"][1]["content"]}
                for r in rows]

    return (jsonl(tmp_path / "pc-train.jsonl", pc(quickstart_rows(16))),
            jsonl(tmp_path / "pc-val.jsonl", pc(quickstart_rows(4, start=300))))


@pytest.fixture
def make_recipe(tmp_path):
    """make_recipe(train, validation, method=..., objective=..., **hyperparameters) -> ResolvedRecipe
    for a few-step run on the tiny model."""
    from ftx.recipe import load_recipe

    def make(train: Path, validation: Path | None, method: str = "lora", objective: str = "sft",
             overrides: tuple[str, ...] = (), name: str = "t", **hp) -> object:
        hyper = {"max_steps": 3, "batch_size": 4, "max_length": 48, "learning_rate": 1e-3, **hp}
        data = {"train": str(train)}
        if validation:
            data["validation"] = str(validation)
        recipe = {"name": name, "model": {"local": "ftx/tiny-llama"}, "data": data,
                  "method": {"name": method}, "objective": objective, "hyperparameters": hyper,
                  "eval": {"strategy": "steps", "steps": 2}}
        path = tmp_path / f"{name}-{method}-{objective}.yaml"
        path.write_text(json.dumps(recipe), encoding="utf-8")  # JSON is YAML
        return load_recipe(path, list(overrides), backend="local")

    return make
