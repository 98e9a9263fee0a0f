"""docs/plugins.md documents every hookspec, and every section's example plugin works.

Each ``## <hook>`` section must hold one complete ``python`` block defining a plugin module; it is
executed as a module, registered in-process and checked for the effect the section describes.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Callable

import pytest

import ftx.hookspecs
from ftx.pluginmanager import get_plugins
from ftx.testing import register_plugin

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"
HOOKS = sorted(n for n in dir(ftx.hookspecs) if hasattr(getattr(ftx.hookspecs, n), "ftx_spec"))


def sections(text: str) -> dict[str, str]:
    """``## heading`` -> body, ignoring lines inside code fences."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            current = out.setdefault(line[3:].strip(), [])
            continue
        if not fenced and line.startswith("# "):
            current = None
            continue
        if current is not None:
            current.append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def python_blocks(body: str) -> list[str]:
    blocks, current = [], None
    for line in body.splitlines():
        if current is None and line.strip() == "```python":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


SECTIONS = sections(DOC.read_text(encoding="utf-8"))


def example_module(hook: str) -> types.ModuleType:
    """The section's example, executed as a fresh module (in ``sys.modules`` while it lives, so
    pydantic and dataclasses defined in it resolve their annotations)."""
    blocks = [b for b in python_blocks(SECTIONS[hook]) if f"def {hook}(" in b]
    assert len(blocks) == 1, f"section ## {hook} needs exactly one python block defining {hook}()"
    name = f"ftx_docs_example_{hook}"
    module = types.ModuleType(name)
    module.__file__ = f"<docs/plugins.md ## {hook}>"
    sys.modules[name] = module
    exec(compile(blocks[0], module.__file__, "exec"), module.__dict__)
    return module


@pytest.fixture
def example(request):
    modules: list[str] = []

    def load(hook: str) -> types.ModuleType:
        module = example_module(hook)
        modules.append(module.__name__)
        return module

    yield load
    for name in modules:
        sys.modules.pop(name, None)


def test_every_hookspec_has_a_section():
    assert HOOKS, "no hookspecs found in ftx.hookspecs"
    missing = [h for h in HOOKS if h not in SECTIONS]
    assert not missing, f"docs/plugins.md has no '## <hook>' section for: {', '.join(missing)}"
    unchecked = [h for h in HOOKS if h not in CHECKS]
    assert not unchecked, f"tests/test_plugin_docs.py has no check for the examples of: {', '.join(unchecked)}"


def test_sections_say_when_arguments_and_return():
    for hook in HOOKS:
        body = SECTIONS.get(hook, "")
        for word in ("**When:**", "**Arguments:**", "**Return:**"):
            assert word in body, f"## {hook} does not say {word}"
        spec_args = list(getattr(ftx.hookspecs, hook).__code__.co_varnames[
                         :getattr(ftx.hookspecs, hook).__code__.co_argcount])
        for arg in spec_args:
            assert f"`{arg}`" in body, f"## {hook} does not describe its argument {arg!r}"


def write_recipe(tmp_path: Path, text: str) -> Path:
    (tmp_path / "train.jsonl").write_text(
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n')
    path = tmp_path / "recipe.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# -- one check per hook: does the example do what its section says? ----------------------------

def check_formats(module, tmp_path, capsys):
    from ftx.components import get_format
    from ftx.formats import CannotConvert, RecordInvalid

    with register_plugin(module, "faq-docs"):
        fmt = get_format("faq")
        record = {"question": "How do I reset it?", "answer": "Hold the button.", "category": "setup"}
        assert fmt.detect(record) > 0
        assert fmt.detect({"messages": []}) == 0
        ex = fmt.parse(record)
        assert [(m.role, m.content) for m in ex.messages] == [
            ("user", "How do I reset it?"), ("assistant", "Hold the button.")]
        assert ex.meta == {"category": "setup"}
        with pytest.raises(RecordInvalid) as err:
            fmt.parse({"question": "", "answer": 3})
        assert {f for f, _ in err.value.problems} == {"question", "answer"}
        assert fmt.dump(ex) == record
        ex.messages.append(ex.messages[0])
        with pytest.raises(CannotConvert):
            fmt.dump(ex)
        assert fmt.plugin == "faq-docs"


def check_methods(module, tmp_path, capsys):
    from pydantic import ValidationError

    from ftx.components import get_method
    from ftx.errors import RecipeError
    from ftx.recipe import load_recipe

    with register_plugin(module, "loraplus-docs"):
        method = get_method("loraplus")
        params = method.params_model().model_validate({"r": 8, "lr_ratio": 4})
        assert (params.r, params.alpha, params.lr_ratio) == (8, 32, 4.0)
        for bad in ({"lr_ratio": 0.5}, {"rank": 8}, {"r": 0}):
            with pytest.raises(ValidationError):
                method.params_model().model_validate(bad)
        recipe = write_recipe(tmp_path, "name: lp\nmodel: {local: tiny}\ndata: {train: train.jsonl}\n"
                                        "method:\n  name: loraplus\n  lr_ratio: 8\n")
        r = load_recipe(recipe, backend="local")
        assert r.method is method and r.method_params.lr_ratio == 8.0
        assert r.recipe.hyperparameters.learning_rate == 1e-4  # the method's default
        (tmp_path / "bad.yaml").write_text(recipe.read_text().replace("lr_ratio: 8", "lr_ratio: 0.5"))
        with pytest.raises(RecipeError) as err:
            load_recipe(tmp_path / "bad.yaml", backend="local")
        assert any(p.line == 6 and p.field == "method.lr_ratio" for p in err.value.problems), err.value


def check_objectives(module, tmp_path, capsys):
    from ftx.components import get_backend, get_objective
    from ftx.errors import BackendError
    from ftx.planning import plan_run
    from ftx.plugins.local.device import plan_device
    from ftx.plugins.local.objectives import local_training
    from ftx.recipe import load_recipe

    with register_plugin(module, "cpo-docs"):
        cpo = get_objective("cpo")
        assert cpo.plugin == "cpo-docs" and "cpo" in get_backend("local").trains_objectives()
        (tmp_path / "pairs.jsonl").write_text("".join(
            f'{{"prompt": "q{i}?", "chosen": "right {i}", "rejected": "wrong {i}"}}\n' for i in range(10)))
        path = tmp_path / "cpo.yaml"
        path.write_text("name: c\nmodel: {local: ftx/tiny-llama, openai: gpt-4.1-nano-2025-04-14}\n"
                        "data: {train: pairs.jsonl}\nobjective: cpo\n")
        r = load_recipe(path, backend="local")
        assert r.recipe.hyperparameters.beta == 0.1 and r.defaults["hyperparameters.beta"] == "CPO default"
        assert plan_run(str(path), "local").details["objective"] == "cpo"  # the dry run plans it
        with pytest.raises(BackendError) as err:
            plan_run(str(path), "openai")
        assert any(p.field == "objective" and p.line == 4 and "cannot train objective 'cpo'" in p.message
                   for p in err.value.problems), err.value
        (tmp_path / "chat.yaml").write_text(path.read_text().replace("pairs.jsonl", "train.jsonl"))
        write_recipe(tmp_path, "")  # writes train.jsonl: chat data
        with pytest.raises(BackendError, match="objective is 'cpo' but the data holds SFT examples"):
            plan_run(str(tmp_path / "chat.yaml"), "local")
        training = local_training("cpo")
        assert training.trainer_class().__name__ == "CPOTrainer"
        config = training.config(r, plan_device("cpu", r.method), str(tmp_path / "out"), 8, False, "x")
        assert type(config).__name__ == "CPOConfig" and config.beta == 0.1 and not config.bf16


def check_backends(module, tmp_path, capsys):
    from ftx.components import get_backend
    from ftx.errors import RecipeError
    from ftx.recipe import load_recipe

    with register_plugin(module, "ssh-docs"):
        backend = get_backend("ssh")
        recipe = write_recipe(tmp_path, "name: remote\nmodel: {ssh: meta-llama/Llama-3.2-1B}\n"
                                        "data: {train: train.jsonl}\nbackends:\n  ssh: {host: me@gpu-box}\n")
        r = load_recipe(recipe, backend="ssh")
        assert [f for f in backend.check(r) if f.level == "error"] == []
        plan = backend.plan(r, {"train_file": str(tmp_path / "train.jsonl"), "train_examples": 1})
        assert plan["host"] == "me@gpu-box"
        assert plan["command"].startswith("ssh me@gpu-box 'cd ~/ftx-runs/remote && ftx run")
        assert plan["model"] == "meta-llama/Llama-3.2-1B"
        # the refused field is an error by name; a missing option is a recipe error at its place
        refused = load_recipe(recipe, ["output_dir=/tmp/out"], backend="ssh")
        assert [f.field for f in backend.check(refused) if f.level == "error"] == ["output_dir"]
        (tmp_path / "nohost.yaml").write_text(recipe.read_text().replace("{host: me@gpu-box}", "{}"))
        with pytest.raises(RecipeError) as err:
            load_recipe(tmp_path / "nohost.yaml", backend="ssh")
        assert "backends.ssh.host" in str(err.value)


def check_price_tables(module, tmp_path, capsys):
    from ftx.estimate import PriceTable

    with register_plugin(module, "acme-docs") as plugins:
        tables = [(p, t) for p, t in plugins.collect_all("ftx_register_price_tables") if p == "acme-docs"]
        assert len(tables) == 1
        table = tables[0][1]
        assert isinstance(table, PriceTable)
        assert (table.backend, table.date) == ("ssh", "2026-11-01")
        assert table.entries["h100-80gb"]["usd_per_hour"] == 2.99


def check_estimate(module, tmp_path, capsys):
    from ftx.components import get_backend
    from ftx.estimate import Estimate
    from ftx.recipe import load_recipe

    recipe = write_recipe(tmp_path, "name: est\nmodel: {local: tiny, openai: gpt-4.1-mini-2025-04-14}\n"
                                    "data: {train: train.jsonl}\nhyperparameters: {epochs: 2}\n")
    r = load_recipe(recipe, backend="local")
    data = {"tokens": 120_000, "train_examples": 400}
    with register_plugin(module, "fastbox-docs") as plugins:
        est = plugins.first("ftx_estimate", backend=get_backend("local"), recipe=r, data=data)
        assert isinstance(est, Estimate) and est.backend == "local"
        assert est.billable_tokens == 240_000 and est.epochs == 2
        assert est.seconds == pytest.approx(240_000 / 2400)
        assert est.assumptions["tokens_per_second"] == 2400.0
        # other backends are left to their own estimators
        r_openai = load_recipe(recipe, backend="openai")
        assert module.ftx_estimate(get_backend("openai"), r_openai, data) is None


def check_commands(module, tmp_path, capsys):
    from click.testing import CliRunner

    from ftx.cli import _add_commands, cli
    from ftx.components import formats

    try:
        with register_plugin(module, "list-formats-docs"):
            _add_commands()
            runner = CliRunner()
            help_ = runner.invoke(cli, ["--help"])
            assert help_.exit_code == 0 and "list-formats" in help_.stdout
            r = runner.invoke(cli, ["list-formats"])
            assert r.exit_code == 0, r.output
            assert sorted(line.split()[0] for line in r.stdout.splitlines()) == sorted(formats())
    finally:
        cli.commands.pop("list-formats", None)  # the ftx group is process-wide


def check_metrics(module, tmp_path, capsys):
    from ftx.errors import RecipeError
    from ftx.eval.metrics import build_metrics, metrics

    with register_plugin(module, "length-docs"):
        assert metrics()["max_words"].plugin == "length-docs"
        (metric,) = build_metrics([{"max_words": 3}])
        assert metric.score("one two three", None) == 100.0
        assert metric.score("one two three four", None) == 0.0
        assert metric.aggregate([100.0, 0.0]) == 50.0
        with pytest.raises(RecipeError, match="positive number"):
            build_metrics([{"max_words": "many"}])


CHECKS: dict[str, Callable] = {
    "ftx_register_metrics": check_metrics,
    "ftx_register_formats": check_formats,
    "ftx_register_methods": check_methods,
    "ftx_register_objectives": check_objectives,
    "ftx_register_backends": check_backends,
    "ftx_register_price_tables": check_price_tables,
    "ftx_estimate": check_estimate,
    "ftx_register_commands": check_commands,
}


@pytest.mark.parametrize("hook", HOOKS)
def test_section_example_works(hook, example, tmp_path, capsys):
    assert hook in SECTIONS, f"docs/plugins.md has no section ## {hook}"
    module = example(hook)
    assert hasattr(getattr(module, hook), "ftx_impl"), f"the ## {hook} example does not mark {hook} @hookimpl"
    CHECKS[hook](module, tmp_path, capsys)
    assert not [n for n, _ in get_plugins().pm.list_name_plugin() if n.endswith("-docs")]
    err = capsys.readouterr().err
    assert "-docs'" not in err, err  # examples register cleanly: no failure or duplicate names them
