"""The plugin manager in-process: which plugins load, how failures and duplicates are reported,
and in-process registration. Uses the real entry points of the installed ftx, plus small
"installed" plugins made of a dist-info folder on ``sys.path``."""

from __future__ import annotations

import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pluggy
import pytest

import ftx.hookspecs
from ftx import hookimpl
from ftx.components import backends, formats, get_format, methods
from ftx.errors import PluginError
from ftx.formats import DataFormat, RecordInvalid
from ftx.pluginmanager import PluginInfo, Plugins, get_plugins, reset_plugins
from ftx.testing import register_plugin

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "tests" / "plugin_example"


def builtin_names() -> set[str]:
    return {ep.name for ep in metadata.entry_points(group="ftx") if ep.dist and ep.dist.metadata["Name"] == "ftx"}


def fresh() -> Plugins:
    reset_plugins()
    return get_plugins()


class Fmt(DataFormat):
    keys = ("zz_q", "zz_a")

    def __init__(self, name: str):
        self.name = name  # instances with their own name, for duplicate tests

    def parse(self, record):
        from ftx.example import Example, Message

        return Example(messages=[Message("user", record["zz_q"]), Message("assistant", record["zz_a"])])


class FormatsPlugin:
    """An in-process plugin object registering the named formats."""

    def __init__(self, *names: str, fail: bool = False):
        self.names, self.fail = names, fail

    @hookimpl
    def ftx_register_formats(self, register):
        for name in self.names:
            register(Fmt(name))
        if self.fail:
            raise ValueError("the format table is corrupt")


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """installed(dist, entry_name, source) -> makes a plugin package "installed": its module and a
    dist-info with an ``ftx`` entry point, in a folder put on sys.path."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    modules: list[str] = []

    def install(dist: str, entry: str, source: str, version: str = "1.2.3") -> str:
        module = dist.replace("-", "_")
        (site / f"{module}.py").write_text(source, encoding="utf-8")
        info = site / f"{module}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[ftx]\n{entry} = {module}\n")
        modules.append(module)
        reset_plugins()
        return module

    yield install
    for module in modules:
        sys.modules.pop(module, None)


GOOD = """
from ftx import hookimpl

@hookimpl
def ftx_register_formats(register):
    from ftx.formats import DataFormat
    from ftx.example import Example, Message

    class Pair(DataFormat):
        name = "pair-fmt"
        keys = ("left", "right")

        def parse(self, record):
            return Example(messages=[Message("user", record["left"]), Message("assistant", record["right"])])

    register(Pair())
"""


# -- which plugins load ----------------------------------------------------------------------

def test_builtins_are_the_entry_points_in_pyproject():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["ftx"]
    assert builtin_names() == set(declared), "installed metadata is stale: pip install -e ."
    p = fresh()
    assert set(p.info) >= set(declared)
    for name in declared:
        info = p.info[name]
        assert info.builtin and info.dist == "ftx" and info.version == ftx.__version__ and info.error is None
        assert info.module == declared[name]
    assert {"lora", "qlora", "full"} <= set(methods())
    assert {"local", "openai", "vertex"} <= set(backends())


def test_ftx_plugins_builtin_excludes_third_party(installed, monkeypatch):
    installed("ftx-plugin-pair", "pair", GOOD)
    assert "pair" in fresh().info
    monkeypatch.setenv("FTX_PLUGINS", "builtin")
    p = fresh()
    assert set(p.info) == builtin_names()
    assert "pair-fmt" not in formats()


@pytest.mark.parametrize("value", ["none", "", " , "])
def test_ftx_plugins_none_loads_nothing(value, installed, monkeypatch):
    installed("ftx-plugin-pair", "pair", GOOD)
    monkeypatch.setenv("FTX_PLUGINS", value)
    p = fresh()
    assert p.info == {} and p.failures == []
    assert methods() == {} and backends() == {} and formats() == {}


def test_ftx_plugins_comma_list(installed, monkeypatch):
    installed("ftx-plugin-pair", "pair", GOOD)
    monkeypatch.setenv("FTX_PLUGINS", "methods, openai,pair")
    p = fresh()
    assert set(p.info) == {"methods", "openai", "pair"}
    assert "openai" in backends() and {b.plugin for b in backends().values()} == {"openai"}
    assert "lora" in methods() and "pair-fmt" in formats()
    assert p.info["pair"].dist == "ftx-plugin-pair" and p.info["pair"].version == "1.2.3"
    assert not p.info["pair"].builtin and p.info["pair"].hooks == ["ftx_register_formats"]


def test_builtin_plus_names(installed, monkeypatch):
    installed("ftx-plugin-pair", "pair", GOOD)
    monkeypatch.setenv("FTX_PLUGINS", "builtin,pair")
    assert set(fresh().info) == builtin_names() | {"pair"}


def test_disable_plugins(installed, monkeypatch):
    installed("ftx-plugin-pair", "pair", GOOD)
    monkeypatch.setenv("FTX_DISABLE_PLUGINS", "openai,vertex,together,fireworks,pair")
    p = fresh()
    assert set(p.info) == builtin_names() - {"openai", "vertex", "together", "fireworks"}
    assert set(backends()) == {"local"}
    monkeypatch.setenv("FTX_PLUGINS", "builtin,pair")
    monkeypatch.setenv("FTX_DISABLE_PLUGINS", "methods")
    p = fresh()
    assert "methods" not in p.info and "pair" in p.info and methods() == {}


def test_unknown_name_in_ftx_plugins_is_reported(monkeypatch, capsys):
    monkeypatch.setenv("FTX_PLUGINS", "builtin,exmaple")
    fresh()
    assert "ftx: FTX_PLUGINS names plugins that are not installed: exmaple\n" in capsys.readouterr().err


# -- failures ----------------------------------------------------------------------------------

def test_plugin_failing_to_import_is_reported_and_others_load(installed, cli, capsys):
    installed("ftx-plugin-broken", "broken", "raise RuntimeError('libfoo is missing')\n")
    installed("ftx-plugin-pair", "pair", GOOD)
    p = fresh()
    err = capsys.readouterr().err.splitlines()
    assert err == ["ftx: plugin 'broken' (ftx-plugin-broken) failed to load: RuntimeError: libfoo is missing "
                   "(FTX_DISABLE_PLUGINS=broken skips it)"]
    assert [f.name for f in p.failures] == ["broken"]
    assert p.failures[0].error == "RuntimeError: libfoo is missing" and p.failures[0].version == "1.2.3"
    assert "pair" in p.info and builtin_names() <= set(p.info)
    assert "pair-fmt" in formats()
    r = cli("plugins")
    assert r.exit_code == 0, r
    assert "broken 1.2.3 (ftx-plugin-broken, ftx_plugin_broken)\n  FAILED to load: RuntimeError: libfoo is missing" in r.stdout
    assert cli("--help").exit_code == 0


def test_misspelt_hook_pluggy_check_pending_catches_it():
    """Why ftx checks each plugin: pluggy accepts the registration and only check_pending()
    notices the hookimpl that matches no hookspec."""

    class Typo:
        @hookimpl
        def ftx_register_format(self, register):
            pass

    pm = pluggy.PluginManager("ftx")
    pm.add_hookspecs(ftx.hookspecs)
    pm.register(Typo(), name="typo")
    with pytest.raises(pluggy.PluginValidationError, match="unknown hook 'ftx_register_format'"):
        pm.check_pending()


def test_misspelt_hook_in_process_raises_one_named_line():
    class Typo:
        @hookimpl
        def ftx_register_format(self, register):
            register(Fmt("never"))

    p = get_plugins()
    with pytest.raises(PluginError) as err:
        p.register(Typo(), "typo")
    assert err.value.lines() == ["plugin 'typo': unknown hook ftx_register_format (did you mean ftx_register_formats?)"]
    assert p.pm.get_plugin("typo") is None and "typo" not in p.info
    p.pm.check_pending()  # the manager was left valid
    assert "never" not in formats()


def test_misspelt_hook_in_entry_point_is_a_load_failure(installed, capsys, cli):
    installed("ftx-plugin-typo", "typo", "from ftx import hookimpl\n\n@hookimpl\n"
                                         "def ftx_register_backend(register):\n    pass\n")
    installed("ftx-plugin-pair", "pair", GOOD)
    p = fresh()
    assert capsys.readouterr().err == (
        "ftx: plugin 'typo' (ftx-plugin-typo) failed to load: unknown hook ftx_register_backend "
        "(did you mean ftx_register_backends?) (FTX_DISABLE_PLUGINS=typo skips it)\n")
    assert [f.name for f in p.failures] == ["typo"] and "typo" not in p.info
    assert "pair-fmt" in formats() and "local" in backends()
    p.pm.check_pending()


def test_hook_argument_the_spec_lacks_is_rejected():
    class WrongArg:
        @hookimpl
        def ftx_register_formats(self, registr):
            pass

    with pytest.raises(PluginError) as err:
        get_plugins().register(WrongArg(), "wrongarg")
    (line,) = err.value.lines()
    assert line.startswith("plugin 'wrongarg': hookimpl definition: ftx_register_formats(registr); ") and "hookspec" in line
    assert get_plugins().pm.get_plugin("wrongarg") is None


def test_unmarked_hook_function_is_warned_about(capsys):
    class Unmarked:
        def ftx_register_formats(self, register):
            register(Fmt("unmarked"))

    with register_plugin(Unmarked(), "unmarked"):
        assert "unmarked" not in formats()
    assert ("ftx: plugin 'unmarked': ftx_register_formats is not marked @ftx.hookimpl, so ftx ignores it"
            in capsys.readouterr().err)


def test_hook_that_raises_is_reported_by_name_and_others_register(capsys, cli):
    p = get_plugins()
    p.register(FormatsPlugin("good-a"), "good")
    p.register(FormatsPlugin("half-done", fail=True), "bad")
    p.register(FormatsPlugin("good-b"), "good2")
    table = formats()
    assert {"good-a", "good-b"} <= set(table)
    assert "half-done" not in table  # a plugin that failed half-way contributes nothing
    assert table["good-b"].plugin == "good2"
    err = capsys.readouterr().err
    assert err.count("ftx: plugin 'bad' failed in ftx_register_formats: ValueError: the format table is corrupt\n") == 1
    assert p.info["bad"].error == "ftx_register_formats: ValueError: the format table is corrupt"
    assert "lora" in methods()  # other hooks are untouched
    r = cli("plugins")
    assert r.exit_code == 0
    assert "bad (in-process, FormatsPlugin)\n  FAILED in ftx_register_formats: ValueError" in r.stdout


def test_hook_failure_reraises_with_ftx_debug(monkeypatch):
    monkeypatch.setenv("FTX_DEBUG", "1")
    get_plugins().register(FormatsPlugin("x", fail=True), "bad")
    with pytest.raises(ValueError, match="corrupt"):
        formats()


def test_registering_the_wrong_type_is_a_named_failure(capsys):
    class NotAFormat:
        @hookimpl
        def ftx_register_formats(self, register):
            register(object())

    with register_plugin(NotAFormat(), "wrongtype"):
        assert "wrongtype" not in {getattr(f, "plugin", None) for f in formats().values()}
    err = capsys.readouterr().err
    assert "ftx: plugin 'wrongtype' failed in ftx_register_formats: TypeError: ftx_register_formats was given" in err
    assert "not a ftx.formats.DataFormat" in err


# -- duplicates and order --------------------------------------------------------------------

def test_duplicate_name_first_registration_wins(capsys):
    from ftx.methods import TrainingMethod

    class MyLora(TrainingMethod):
        name = "lora"

    class Dup:
        @hookimpl
        def ftx_register_methods(self, register):
            register(MyLora())

    with register_plugin(Dup(), "dup"):
        table = methods()
        assert table["lora"].plugin == "methods" and not isinstance(table["lora"], MyLora)
    assert ("ftx: method 'lora' from plugin 'dup' ignored: already registered by plugin 'methods'\n"
            in capsys.readouterr().err)


def test_duplicate_between_two_third_party_plugins(capsys):
    p = get_plugins()
    p.register(FormatsPlugin("shared"), "first")
    p.register(FormatsPlugin("shared"), "second")
    assert formats()["shared"].plugin == "first"
    formats()  # cached: warned once
    assert capsys.readouterr().err.count(
        "ftx: format 'shared' from plugin 'second' ignored: already registered by plugin 'first'\n") == 1


def test_tryfirst_overrides_a_builtin(capsys):
    from ftx.methods import TrainingMethod

    class MyLora(TrainingMethod):
        name = "lora"

    class Override:
        @hookimpl(tryfirst=True)
        def ftx_register_methods(self, register):
            register(MyLora())

    with register_plugin(Override(), "override"):
        assert isinstance(methods()["lora"], MyLora)
    assert "method 'lora' from plugin 'methods' ignored: already registered by plugin 'override'" in capsys.readouterr().err


def test_first_result_order_and_failures(capsys):
    from ftx.estimate import Estimate

    def plugin(answer, **opts):
        class P:
            @hookimpl(**opts)
            def ftx_estimate(self, backend, recipe, data):
                if answer == "raise":
                    raise RuntimeError("no prices")
                return None if answer is None else Estimate(backend="b", model=answer)
        return P()

    p = get_plugins()
    for name in list(p.info):
        p.unregister(name)  # only the plugins below answer now
    p.register(plugin("raise"), "broken")
    p.register(plugin(None), "abstains")
    p.register(plugin("second"), "second")
    p.register(plugin("third"), "third")
    assert p.first("ftx_estimate", backend=None, recipe=None, data={}).model == "second"
    assert "ftx: plugin 'broken' failed in ftx_estimate: RuntimeError: no prices" in capsys.readouterr().err
    p.register(plugin("late-but-first", tryfirst=True), "eager")
    assert p.first("ftx_estimate", backend=None, recipe=None, data={}).model == "late-but-first"
    assert [n for n, _ in p.call_each("ftx_estimate", backend=None, recipe=None, data={})] == [
        "eager", "abstains", "second", "third"]


# -- in-process registration -------------------------------------------------------------------

def test_register_and_unregister_in_process():
    p = get_plugins()
    name = p.register(FormatsPlugin("inproc"), "inproc")
    assert name == "inproc"
    assert isinstance(p.info["inproc"], PluginInfo) and p.info["inproc"].hooks == ["ftx_register_formats"]
    assert formats()["inproc"].plugin == "inproc"
    with pytest.raises(PluginError, match="a plugin named 'inproc' is already registered"):
        p.register(FormatsPlugin("again"), "inproc")
    p.unregister("inproc")
    assert "inproc" not in formats() and "inproc" not in p.info
    with pytest.raises(PluginError, match="no plugin named 'inproc' is registered"):
        p.unregister("inproc")


def test_register_plugin_context_manager_cleans_up_on_error():
    with pytest.raises(KeyError):
        with register_plugin(FormatsPlugin("temp"), "temp") as p:
            assert "temp" in formats() and p is get_plugins()
            raise KeyError("boom")
    assert "temp" not in formats() and get_plugins().pm.get_plugin("temp") is None


def test_failing_command_hook_does_not_break_the_cli(cli, capsys):
    import click

    class Good:
        @hookimpl
        def ftx_register_commands(self, cli):
            @cli.command("good-cmd")
            def good_cmd():
                click.echo("good")

    class Bad:
        @hookimpl
        def ftx_register_commands(self, cli):
            raise ImportError("click-extra is not installed")

    from ftx.cli import _add_commands, cli as group

    try:
        with register_plugin(Bad(), "bad-cmds"), register_plugin(Good(), "good-cmds"):
            _add_commands()
            r = cli("--help")
            assert r.exit_code == 0 and "good-cmd" in r.stdout
            assert cli("good-cmd").stdout == "good\n"
            assert "ftx: plugin 'bad-cmds' failed in ftx_register_commands: ImportError" in capsys.readouterr().err
            rows = {row["name"]: row for row in __import__("json").loads(cli("plugins", "--json").stdout)}
            assert rows["good-cmds"]["provides"] == {"commands": ["good-cmd"]}
    finally:
        group.commands.pop("good-cmd", None)


# -- the example plugin package, in-process (the installed version is in test_packaging) --------

@pytest.fixture
def example_plugin(monkeypatch):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import ftx_plugin_example

    with register_plugin(ftx_plugin_example, "example") as p:
        yield p
    for name in [m for m in sys.modules if m.startswith("ftx_plugin_example")]:
        del sys.modules[name]


def test_example_plugin_registers_everything(example_plugin, write):
    from pydantic import ValidationError

    from ftx.components import get_backend, get_method
    from ftx.recipe import load_recipe

    qa = get_format("qa")
    ex = qa.parse({"q": "Capital of France?", "a": "Paris", "context": "Geography"})
    assert [m.content for m in ex.messages] == ["Geography\n\nCapital of France?", "Paris"]
    with pytest.raises(RecordInvalid):
        qa.parse({"q": "x", "a": 5})
    lite = get_method("lora-lite")
    assert lite.params_model().model_validate({}).r == 4
    with pytest.raises(ValidationError):
        lite.params_model().model_validate({"r": 16})
    assert example_plugin.hooks_of("example") == sorted(ftx.pluginmanager.SPECS)
    from ftx.eval.metrics import metrics

    assert metrics()["brevity"].score("short and sweet", None) == 100.0
    tables = [t for plugin, t in example_plugin.collect_all("ftx_register_price_tables") if plugin == "example"]
    assert [t.name for t in tables] == ["echo-2026-11"]
    write("qa.jsonl", '{"q": "a?", "a": "b"}\n')
    recipe = write("r.yaml", "name: qa\nmodel: {echo: echo-small}\ndata: {train: qa.jsonl, format: qa}\n"
                             "method: {name: lora-lite, r: 2}\n")
    r = load_recipe(recipe, backend="echo")
    echo = get_backend("echo")
    assert [f for f in echo.check(r) if f.level == "error"] == []
    plan = echo.plan(r, {"train_examples": 1})
    assert plan["rank"] == 2 and plan["method"] == "lora-lite" and plan["model"] == "echo-small"
    est = example_plugin.first("ftx_estimate", backend=echo, recipe=r, data={"tokens": 2_000_000})
    assert est.backend == "echo" and est.billable_tokens == 6_000_000 and est.cost_usd == 3.0
