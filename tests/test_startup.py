"""Start-up (issue 13): light commands do not build the pydantic recipe schema, import rich, PyYAML
or ``importlib.metadata`` when they have nothing to validate, draw or discover; and the caches
that make that possible (entry points, parsed catalogs) stay correct when things change.

Which modules a command imports is checked, not how long it takes: the timing is
``benchmarks/bench_startup.py``'s job.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Runs ftx's CLI like the console script does, then writes which of WATCH it imported.
DRIVER = """
import atexit, json, sys
WATCH = json.loads(sys.argv[1])
OUT = sys.argv[2]

def report():
    with open(OUT, "w") as f:
        json.dump(sorted(m for m in WATCH if m in sys.modules), f)

atexit.register(report)
sys.argv = ["ftx", *sys.argv[3:]]
from ftx.cli import main
main()
"""

# What a light command must not need: the recipe schema (and pydantic under it), rich, PyYAML
# (catalogs come from the ftx home's cache), importlib.metadata (entry points likewise).
WATCH = ["pydantic", "ftx.recipe.schema", "ftx.recipe.resolve", "rich", "yaml", "importlib.metadata"]

CHAT = ('{"messages": [{"role": "user", "content": "What is 2+2?"}, '
        '{"role": "assistant", "content": "4"}]}\n')

LIGHT = {
    "help": ["--help"],
    "plugins": ["plugins"],
    "plugins-json": ["plugins", "--json"],
    "recipes-list": ["recipes", "list"],
    "runs-list": ["runs", "list"],
    "jobs-list": ["jobs", "list"],
    "data-validate": ["data", "validate", "train.jsonl"],
    "runs-help": ["runs", "--help"],
}


def imported(tmp_path: Path, home: Path, *args: str) -> list[str]:
    out = tmp_path / "imports.json"
    env = {**os.environ, "FTX_HOME": str(home)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(WATCH), str(out), *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120, env=env)
    assert proc.returncode == 0, f"ftx {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(out.read_text())


@pytest.mark.parametrize("name", list(LIGHT))
def test_light_command_imports_no_schema_rich_yaml_or_metadata(name, tmp_path, ftx_home):
    (tmp_path / "train.jsonl").write_text(CHAT * 12, encoding="utf-8")
    args = LIGHT[name]
    imported(tmp_path, ftx_home, *args)  # the first start fills the caches in the ftx home
    assert imported(tmp_path, ftx_home, *args) == [], f"ftx {' '.join(args)} imported more than it needs"


def test_the_check_sees_a_heavy_import(tmp_path, ftx_home):
    """The driver works: ``recipes validate`` builds the schema, and is reported doing so."""
    recipe = tmp_path / "r.yaml"
    (tmp_path / "train.jsonl").write_text(CHAT * 12, encoding="utf-8")
    recipe.write_text("name: s\nmodel: {local: ftx/tiny-llama}\ndata: {train: train.jsonl}\n")
    assert {"pydantic", "ftx.recipe.schema"} <= set(imported(tmp_path, ftx_home, "recipes", "validate", str(recipe)))


# -- the entry-point cache ---------------------------------------------------------------------

def _install(site: Path, dist: str, entry: str, version: str = "1.0") -> Path:
    module = dist.replace("-", "_")
    (site / f"{module}.py").write_text("from ftx import hookimpl\n", encoding="utf-8")
    info = site / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[ftx]\n{entry} = {module}\n")
    return info


def _names() -> dict[str, tuple[str, str | None]]:
    from ftx import entrypoints

    entrypoints.forget()
    return {ep.name: (ep.value, ep.dist.version if ep.dist else None) for ep in entrypoints.entry_points("ftx")}


def test_entry_point_cache_follows_installs_and_removals(tmp_path, monkeypatch):
    import shutil
    from importlib import metadata

    from ftx import entrypoints

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    real = {ep.name for ep in metadata.entry_points(group="ftx")}
    assert set(_names()) == real

    info = _install(site, "startup-probe", "probe")
    assert _names()["probe"] == ("startup_probe", "1.0"), "a newly installed plugin is seen"

    # A hit does not read the metadata again: the answer comes from the cache file.
    monkeypatch.setattr(entrypoints, "_scan", lambda: pytest.fail("the cache was not used"))
    assert _names()["probe"] == ("startup_probe", "1.0")
    monkeypatch.undo()
    monkeypatch.syspath_prepend(str(site))

    (info / "entry_points.txt").write_text("[ftx]\nprobe = startup_probe:other\n")
    assert _names()["probe"][0] == "startup_probe:other", "an entry_points.txt rewritten in place is seen"

    shutil.rmtree(info)
    _install(site, "startup-probe", "probe", version="2.0")
    assert _names()["probe"] == ("startup_probe", "2.0"), "an upgrade is seen"

    shutil.rmtree(site / "startup_probe-2.0.dist-info")
    assert "probe" not in _names(), "an uninstalled plugin is gone"
    assert set(_names()) == real


def test_plugins_installed_in_process_load_after_reset(tmp_path, monkeypatch):
    """``reset_plugins()`` (documented for installing a plugin in-process) sees the new one."""
    from ftx.pluginmanager import get_plugins, reset_plugins

    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    assert "probe" not in get_plugins().info
    _install(site, "startup-probe", "probe")
    reset_plugins()
    try:
        info = get_plugins().info["probe"]
        assert (info.dist, info.version, info.builtin) == ("startup-probe", "1.0", False)
    finally:
        sys.modules.pop("startup_probe", None)


def test_cached_entry_point_loads_module_and_attribute():
    from ftx.entrypoints import CachedEntryPoint

    assert CachedEntryPoint("x", "ftx.cli", "ftx", None).load().__name__ == "ftx.cli"
    assert CachedEntryPoint("x", "ftx.cli:main", "ftx", None).load().__name__ == "main"
    with pytest.raises(ValueError):
        CachedEntryPoint("x", "not a value!", "ftx", None).load()


def test_no_pydantic_plugin_scan_when_none_is_installed(tmp_path, ftx_home):
    """pydantic's own scan of every distribution is skipped, with the same (empty) answer."""
    code = """
import sys
import importlib.metadata as im
calls = []
real = im.entry_points
im.entry_points = lambda *a, **k: calls.append(k) or real(*a, **k)
from ftx.pluginmanager import get_plugins
get_plugins()
import ftx.recipe.schema
import pydantic.plugin._loader as loader
assert loader._plugins == {}, loader._plugins
print(calls)
"""
    env = {**os.environ, "FTX_HOME": str(ftx_home)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, timeout=120)
    proc = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.strip() == "[]"


# -- the parsed-YAML cache ---------------------------------------------------------------------

def test_yaml_cache_keeps_types_and_follows_changes(tmp_path, monkeypatch):
    import datetime as dt

    from ftx import yamlio

    path = tmp_path / "catalog.yaml"
    path.write_text("date: 2026-11-01\nat: 2026-11-01T10:00:00\nmodels: {a: {price: 1.5, n: 3}}\n1: one\n")
    first = yamlio.load_file(path)
    assert first == {"date": dt.date(2026, 11, 1), "at": dt.datetime(2026, 11, 1, 10), "models": {"a": {"price": 1.5, "n": 3}},
                     1: "one"}
    yamlio._cached.cache_clear()
    monkeypatch.setattr(yamlio, "safe_load", lambda text: pytest.fail("parsed again instead of the cache"))
    again = yamlio.load_file(path)
    assert again == first and type(again["date"]) is dt.date and type(again["at"]) is dt.datetime
    monkeypatch.undo()

    path.write_text("date: 2026-12-01\n")
    yamlio._cached.cache_clear()
    assert yamlio.load_file(path) == {"date": dt.date(2026, 12, 1)}, "a changed file is parsed again"


def test_yaml_cache_ignores_a_damaged_entry(tmp_path):
    from ftx import yamlio

    path = tmp_path / "c.yaml"
    path.write_text("a: 1\n")
    assert yamlio.load_file(path) == {"a": 1}
    Path(yamlio._cache_path(str(path.resolve()))).write_bytes(b"\x00garbage")
    yamlio._cached.cache_clear()
    assert yamlio.load_file(path) == {"a": 1}


def test_yaml_errors_still_surface(tmp_path):
    import yaml

    from ftx import yamlio

    path = tmp_path / "bad.yaml"
    path.write_text("a: [1, 2\n")
    with pytest.raises(yaml.YAMLError):
        yamlio.load_file(path)


# -- ftx's own commands, loaded on use -------------------------------------------------------------

def test_lazy_command_table_names_every_command():
    import importlib

    from ftx.cli import OWN

    for name, module in OWN.items():
        commands = importlib.import_module(f"ftx.cli.{module}").COMMANDS
        assert [c.name for c in commands] == [name], f"ftx.cli.{module} does not hold (only) {name!r}"


def test_help_lists_every_own_command(cli):
    from ftx.cli import OWN

    out = cli("--help").stdout
    for name in OWN:
        assert f"\n  {name} " in out, name


def test_plugin_command_of_the_same_name_wins(tmp_path, monkeypatch):
    """As when every command was added at start-up: a plugin's command added under one of ftx's
    names is the one that runs (its plugin asked for that)."""
    import click
    from click.testing import CliRunner

    from ftx import hookimpl
    from ftx.cli import _add_commands, cli as group
    from ftx.pluginmanager import get_plugins

    class Shadow:
        @hookimpl
        def ftx_register_commands(self, cli):
            @cli.command("estimate")
            def shadow() -> None:
                click.echo("shadowed")

    get_plugins().register(Shadow(), "shadow")
    saved = dict(group.commands), dict(group.lazy)
    try:
        group.commands.pop("estimate", None)
        _add_commands()
        assert CliRunner().invoke(group, ["estimate"]).output == "shadowed\n"
    finally:
        group.commands.clear()
        group.commands.update(saved[0])
        group.lazy.clear()
        group.lazy.update(saved[1])


def test_entry_point_cache_is_kept_with_the_importlib_metadata_backport_installed(monkeypatch):
    """mlflow, wandb and others import the ``importlib_metadata`` backport, which puts its
    ``MetadataPathFinder`` on ``sys.meta_path``; it reads the same dist-info folders the key covers,
    so the cache stays in use (it was bypassed for the rest of the process once mlflow loaded)."""
    importlib_metadata = pytest.importorskip("importlib_metadata")
    import sys

    from ftx import entrypoints

    finder = importlib_metadata.MetadataPathFinder()
    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, finder])
    assert entrypoints.install_key() is not None

    class Other:  # any other finder that reports distributions makes the key untrustworthy
        def find_distributions(self, context=None):
            return iter(())

    monkeypatch.setattr(sys, "meta_path", [*sys.meta_path, Other()])
    assert entrypoints.install_key() is None


def test_pydantic_loader_runs_without_importlib_metadata(tmp_path, ftx_home):
    """With no pydantic plugin installed, building the recipe schema imports no importlib.metadata
    (pydantic's loader gets a stand-in while it runs); the stand-in still answers if called."""
    code = """
import sys
from ftx.pluginmanager import get_plugins
get_plugins()
import ftx.recipe.schema
assert "importlib.metadata" not in sys.modules, "the schema imported importlib.metadata"
import pydantic.plugin._loader as loader
assert loader._plugins == {}, loader._plugins
found = list(loader.entry_points(group="pydantic"))  # the stand-in imports the real one on call
import importlib.metadata as im
assert sys.modules["importlib.metadata"] is im and found == list(im.entry_points(group="pydantic"))
print("ok")
"""
    env = {**os.environ, "FTX_HOME": str(ftx_home)}
    subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=120)  # fills the cache
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


# -- one validation per command ----------------------------------------------------------------

RECIPE = "name: s\nmodel: {local: ftx/tiny-llama, openai: gpt-4.1-mini-2025-04-14}\ndata: {train: train.jsonl}\n"


def _count_validations(monkeypatch) -> list[int]:
    from ftx.recipe import resolve
    from ftx.recipe.schema import Recipe

    resolve._VALIDATED.clear()
    calls: list[int] = []
    real = Recipe.model_validate.__func__

    def counted(cls, *args, **kwargs):
        calls.append(1)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(Recipe, "model_validate", classmethod(counted))
    return calls


def test_estimate_validates_the_recipe_once(tmp_path, monkeypatch):
    """Every backend of ``ftx estimate`` (nine rows here) comes from one schema validation."""
    from ftx.cost.compare import estimate_all

    (tmp_path / "train.jsonl").write_text(CHAT * 12, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RECIPE, encoding="utf-8")
    calls = _count_validations(monkeypatch)
    rows = estimate_all(str(tmp_path / "r.yaml"), ["local", "openai", "vertex"], gpu="cpu")
    assert [r.backend for r in rows] == ["local", "openai", "vertex"] and rows[0].available and rows[1].available
    assert not rows[2].available and "no model for this backend" in rows[2].notes[0]
    assert len(calls) == 1


def test_validation_errors_are_located_per_view_when_shared(tmp_path, monkeypatch):
    """The same invalid value reached through the base and through a backend section is reported
    at the line each view has for it, exactly as when each is validated afresh."""
    from ftx.errors import RecipeError
    from ftx.recipe import load_recipe, resolve

    path = tmp_path / "r.yaml"
    path.write_text(RECIPE + "hyperparameters:\n  epochs: 0\nbackends:\n  openai:\n    hyperparameters:\n"
                    "      epochs: 0\n      warmup_ratio: 0.9\n", encoding="utf-8")

    def problems() -> list[str]:
        with pytest.raises(RecipeError) as info:
            load_recipe(str(path), backend="openai")
        return [str(p) for p in info.value.problems]

    resolve._VALIDATED.clear()
    first = problems()
    assert any(":5: hyperparameters.epochs" in p for p in first), first
    assert any(":9: backends.openai.hyperparameters.epochs" in p for p in first), first
    assert problems() == first  # from the memo
    calls = _count_validations(monkeypatch)
    assert problems() == first and len(calls) == 2  # afresh (base and the openai view): the same
    assert problems() == first and len(calls) == 2


def test_recipes_validate_reads_the_data_once_and_still_finds_its_problems(cli, tmp_path, monkeypatch):
    """Two backends share one read of the data; the statistics (which only warn) are not
    computed; an invalid record is still reported at its line."""
    from ftx.data import plan, stats

    reads, computed = [], []
    real_read = plan._read_splits
    monkeypatch.setattr(plan, "_read_splits", lambda recipe: reads.append(1) or real_read(recipe))
    monkeypatch.setattr(stats, "compute_stats", lambda *a, **k: computed.append(1) or pytest.fail("stats"))
    (tmp_path / "train.jsonl").write_text(CHAT * 12, encoding="utf-8")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(RECIPE.replace("train.jsonl", str(tmp_path / "train.jsonl")), encoding="utf-8")
    result = cli("recipes", "validate", str(recipe))
    assert result.exit_code == 0, result
    assert "checked the data files" in result.stdout and reads == [1] and computed == []

    (tmp_path / "train.jsonl").write_text(CHAT * 6 + '{"messages": [{"role": "user"}]}\n' + CHAT * 5,
                                          encoding="utf-8")
    result = cli("recipes", "validate", str(recipe))
    assert result.exit_code != 0 and "train.jsonl:7" in result.stderr + result.stdout, result


def test_local_estimate_counts_tokens_once_for_every_device(tmp_path, monkeypatch):
    """One row per device, one count of the train and validation tokens (``data["shared"]``)."""
    from ftx.cost.compare import estimate_all
    from ftx.plugins.local import estimate as local

    calls = []
    real = local.count_local
    monkeypatch.setattr(local, "count_local", lambda *a: calls.append(1) or real(*a))
    (tmp_path / "train.jsonl").write_text(CHAT * 12, encoding="utf-8")
    (tmp_path / "r.yaml").write_text(RECIPE, encoding="utf-8")
    rows = estimate_all(str(tmp_path / "r.yaml"), ["local"])
    assert len(rows) > 1 and all(r.available for r in rows) and len({r.device for r in rows}) == len(rows)
    assert len({r.billable_tokens for r in rows}) == 1 and len(calls) == 2
