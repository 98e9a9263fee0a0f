"""Light commands import no heavy library: each runs in a fresh interpreter and reports, at exit,
which modules of the heavy top-level packages it imported.

Modules already in ``sys.modules`` when the interpreter starts are not counted: legacy namespace
``.pth`` files (google-cloud-aiplatform ships one) create empty ``google`` and ``google.cloud``
namespace modules at start-up, before ftx runs; anything ftx then imports under ``google.`` counts.

The commands must also succeed: a command that fails early would import little and prove nothing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

HEAVY = ("torch", "transformers", "peft", "trl", "accelerate", "bitsandbytes", "datasets",
         "openai", "google", "tiktoken", "ray", "together", "mlflow", "wandb", "tensorboard", "tensorboardX",
         "psycopg", "lm_eval")

# Runs ftx's CLI like the console script does, then writes the heavy modules it imported.
DRIVER = """
import atexit, json, sys
BEFORE = set(sys.modules)
HEAVY = set(json.loads(sys.argv[1]))
OUT = sys.argv[2]

def report():
    loaded = sorted({name.split(".")[0] for name in set(sys.modules) - BEFORE} & HEAVY)
    with open(OUT, "w") as f:
        json.dump(loaded, f)

atexit.register(report)
sys.argv = ["ftx", *sys.argv[3:]]
from ftx.cli import main
main()
"""

CHAT = ('{"messages": [{"role": "user", "content": "What is 2+2?"}, '
        '{"role": "assistant", "content": "4"}]}\n')


def heavy_imports(tmp_path: Path, *args: str) -> tuple[list[str], subprocess.CompletedProcess]:
    out = tmp_path / "imports.json"
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(HEAVY), str(out), *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.exists(), f"ftx {' '.join(args)} did not finish:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(out.read_text()), proc


@pytest.fixture
def chat_file(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(CHAT * 12, encoding="utf-8")
    return path


COMMANDS = {
    "help": ["--help"],
    "plugins": ["plugins"],
    "plugins-json": ["plugins", "--json"],
    "run-local-dry": ["run", "quickstart", "--backend", "local", "--dry-run"],
    "run-ray-dry": ["run", "quickstart", "--backend", "local", "--dry-run", "--ray", "--workers", "2"],
    "run-openai-dry": ["run", "quickstart", "--backend", "openai", "--dry-run"],
    "run-vertex-dry": ["run", "quickstart", "--backend", "vertex", "--dry-run"],
    "run-together-dry": ["run", "quickstart", "--backend", "together", "--dry-run"],
    "run-fireworks-dry": ["run", "quickstart", "--backend", "fireworks", "--dry-run"],
    "estimate": ["estimate", "quickstart"],
}


@pytest.mark.parametrize("name", list(COMMANDS))
def test_command_imports_nothing_heavy(name, tmp_path):
    loaded, proc = heavy_imports(tmp_path, *COMMANDS[name])
    assert proc.returncode == 0, f"ftx {' '.join(COMMANDS[name])} failed:\n{proc.stdout}\n{proc.stderr}"
    assert loaded == [], f"ftx {' '.join(COMMANDS[name])} imported {', '.join(loaded)}"


def test_data_validate_imports_nothing_heavy(tmp_path, chat_file):
    loaded, proc = heavy_imports(tmp_path, "data", "validate", str(chat_file))
    assert proc.returncode == 0, f"ftx data validate failed:\n{proc.stdout}\n{proc.stderr}"
    assert loaded == [], f"ftx data validate imported {', '.join(loaded)}"


def test_dry_run_with_harness_tasks_imports_nothing_heavy(tmp_path, chat_file):
    """A recipe naming local lm-evaluation-harness task YAMLs is checked at dry-run time (the files
    read with PyYAML) without importing lm_eval (nor torch under it)."""
    import importlib.util

    (tmp_path / "task.yaml").write_text("task: tiny\ndataset_path: json\ndataset_kwargs: {data_files: {test: rows.jsonl}}\n"
                                        "test_split: test\noutput_type: multiple_choice\n")
    (tmp_path / "rows.jsonl").write_text('{"q": "a", "choices": ["x", "y"], "answer": 0}\n')
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: h\nmodel: {{local: ftx/tiny-llama}}\ndata: {{train: {chat_file.name}}}\n"
                      f"eval: {{test: {chat_file.name}, forgetting: {{harness: [task.yaml, hellaswag]}}}}\n")
    loaded, proc = heavy_imports(tmp_path, "run", str(recipe), "--backend", "local", "--dry-run")
    assert loaded == [], f"ftx run --dry-run imported {', '.join(loaded)}"
    if importlib.util.find_spec("lm_eval") is None:
        assert proc.returncode != 0 and "lm-evaluation-harness, which is not installed" in proc.stderr
    else:
        assert proc.returncode == 0, proc.stderr


def test_driver_detects_heavy_imports(tmp_path, monkeypatch):
    """The check itself works: a plugin importing a heavy package at top level is caught. (The
    "heavy" package is a stub named trl on the same path, so the check costs no real import.)"""
    site = tmp_path / "site"
    info = site / "heavy_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: heavy-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ftx]\nheavy = heavy_plugin\n")
    (site / "heavy_plugin.py").write_text("import trl  # wrong: at top level\n")
    (site / "trl.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(site))
    loaded, proc = heavy_imports(tmp_path, "--help")
    assert proc.returncode == 0
    assert loaded == ["trl"]


def test_help_wall_time(tmp_path, capsys):
    """Measured, not asserted: performance belongs in benchmarks."""
    exe = Path(sys.executable).with_name("ftx")
    if not exe.exists():
        pytest.skip("no ftx console script next to this interpreter")
    times = []
    for _ in range(5):
        start = time.perf_counter()
        proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
        times.append(time.perf_counter() - start)
        assert proc.returncode == 0, proc.stderr
    with capsys.disabled():
        print(f"\n[ftx --help] wall time over 5 runs: median {statistics.median(times) * 1000:.0f} ms, "
              f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
