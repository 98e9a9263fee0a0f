"""The core imports no plugin: it asks backends, formats and methods through the contract.

Every module under ``core/`` is read for imports (``import``, ``from ... import`` and
``importlib.import_module("...")``) of ``ftx.plugins`` or ``ftx.providers``; and the CLI must
start with no plugin at all and say which commands each plugin adds.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("ftx.plugins", "ftx.providers")


def _imports(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, dotted name) of everything ``path`` imports; ``package`` is its package (default:
    where it lies under core/, which is installed as ``ftx``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if package is None:
        package = ".".join(["ftx", *path.relative_to(ROOT / "core").parts[:-1]])
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                parts = package.rstrip(".").split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            found += [(node.lineno, f"{base}.{a.name}") for a in node.names]
        elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
              and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def test_no_core_module_imports_a_plugin():
    offenders = [f"{path.relative_to(ROOT)}:{line}: {name}"
                 for path in sorted((ROOT / "core").rglob("*.py"))
                 for line, name in _imports(path)
                 if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]
    assert offenders == []


def _code_strings(path: Path) -> list[tuple[int, str]]:
    """(line, value) of the string constants in ``path``'s code, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


def test_no_core_code_names_a_plugins_model():
    """What a model is (e.g. the embedded tiny model's random weights) is the backend's to say
    (``Backend.random_weights``), not a name the core compares with."""
    named = [f"{path.relative_to(ROOT)}:{line}" for path in sorted((ROOT / "core").rglob("*.py"))
             for line, value in _code_strings(path) if "tiny-llama" in value]
    assert named == []


def test_the_scan_sees_relative_and_dynamic_imports(tmp_path):
    """The checker itself: it must catch each way a core module could reach a plugin."""
    fake = tmp_path / "x.py"
    fake.write_text("from ..plugins.local import backend\nimport ftx.providers.openai\n"
                    "import importlib\nimportlib.import_module('ftx.plugins.local')\nfrom . import common\n")
    names = [n for _, n in _imports(fake, package="ftx.cli")]
    assert "ftx.cli.common" in names
    assert "ftx.plugins.local.backend" in names and "ftx.providers.openai" in names and "ftx.plugins.local" in names


def _ftx(*args: str, **env: str) -> subprocess.CompletedProcess:
    full = {**os.environ, **env}
    for var in ("FTX_PLUGINS", "FTX_DISABLE_PLUGINS"):
        if var not in env:
            full.pop(var, None)
    return subprocess.run([sys.executable, "-m", "ftx", *args], capture_output=True, text=True, env=full, timeout=120)


def test_cli_starts_without_any_plugin_and_says_so():
    r = _ftx("--help", FTX_PLUGINS="none")
    assert r.returncode == 0, r.stderr
    assert "Commands:" in r.stdout and " run " in r.stdout and " plugins " in r.stdout
    assert "generate" not in r.stdout and "export" not in r.stdout and "Commands from plugin" not in r.stdout
    r = _ftx("plugins", FTX_PLUGINS="none")
    assert r.returncode == 0, r.stderr
    assert "no plugins loaded (FTX_PLUGINS=none)" in r.stdout
    r = _ftx("run", "quickstart", "--dry-run", FTX_PLUGINS="none")
    assert r.returncode != 0 and "unknown backend 'local'; installed: none" in r.stderr


def test_help_lists_each_plugins_commands_under_its_name():
    r = _ftx("--help")
    assert r.returncode == 0, r.stderr
    own, _, plugin = r.stdout.partition("Commands from plugin local:")
    assert " run " in own and " generate " not in own
    assert " generate " in plugin and " export " in plugin
    r = _ftx("--help", FTX_DISABLE_PLUGINS="local")
    assert r.returncode == 0 and "generate" not in r.stdout and "export" not in r.stdout
    r = _ftx("plugins")
    local = r.stdout.split("local ", 1)[1].split("\nmethods ", 1)[0]
    assert "commands: export, generate" in local
