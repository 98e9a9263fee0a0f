"""``ftx estimate``: every backend side by side, JSON, filters, errors, plugins, import hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ftx import hookimpl
from ftx.backends import Backend
from ftx.estimate import Estimate
from ftx.pluginmanager import get_plugins

LADDER = ["CPU", "T4", "L4", "A10G", "RTX 4090", "A100 40GB", "A100 80GB", "H100 SXM"]


def rows(cli, *args):
    r = cli("estimate", *args, "--json")
    assert r.exit_code == 0, r
    return json.loads(r.stdout)


def test_table_has_a_row_per_backend_and_device_and_the_assumptions(cli):
    r = cli("estimate", "quickstart")
    assert r.exit_code == 0, r
    out = r.stdout
    for label in ("local (CPU x", "local (T4)", "local (H100 SXM)", "openai", "vertex"):
        assert label in out
    assert "gpt-4.1-mini-2025-04-14" in out and "gemini-3-flash-lite" in out
    for line in ("openai: price: $5 per 1M training tokens", "openai: epochs: 3 (recipe)",
                 "local: $/GPU-hour:", "local: MFU:", "vertex: tokens counted with: characters/4"):
        assert line in out


def test_json_rows_cover_every_installed_backend_and_the_device_ladder(cli):
    from ftx.components import backends

    data = rows(cli, "quickstart")
    local = [d for d in data if d["backend"] == "local"]
    assert [d["device"].split(" x")[0] for d in local] == LADDER
    assert {d["backend"] for d in data} == set(backends())
    openai = next(d for d in data if d["backend"] == "openai")
    assert openai["epochs"] == 3 and openai["billable_tokens"] > 0 and openai["cost_usd"] > 0
    assert openai["label"] == "openai" and openai["available"] is True


def test_openai_row_equals_the_exact_count_of_the_split_training_data(cli):
    from ftx.providers.openai.billing import openai_example_tokens
    from ftx.data.plan import load_splits
    from ftx.data.tokens import get_counter
    from ftx.recipe import load_recipe

    train, _, _ = load_splits(load_recipe("quickstart", backend="openai"))
    counter = get_counter("gpt-4.1-mini-2025-04-14")
    expected = 3 * sum(openai_example_tokens(e, counter) for e in train)
    openai = rows(cli, "quickstart", "--backend", "openai")[0]
    assert openai["billable_tokens"] == expected
    assert openai["cost_usd"] == pytest.approx(expected * 5.0 / 1e6, abs=1e-4)


def test_backend_filters_repeatable_or_comma_separated(cli):
    assert [d["backend"] for d in rows(cli, "quickstart", "-b", "openai", "-b", "vertex")] == ["openai", "vertex"]
    assert [d["backend"] for d in rows(cli, "quickstart", "--backend", "vertex,openai")] == ["vertex", "openai"]


def test_gpu_option_keeps_one_local_row(cli):
    data = rows(cli, "quickstart", "--backend", "local", "--gpu", "H100")
    assert len(data) == 1 and data[0]["device"] == "H100 SXM" and data[0]["memory_gb"] == 80


def test_overrides_apply_before_estimating(cli):
    three = rows(cli, "quickstart", "-b", "openai")[0]["billable_tokens"]
    one = rows(cli, "quickstart", "-b", "openai", "hyperparameters.epochs=1")[0]["billable_tokens"]
    assert one * 3 == three


def test_missing_model_for_a_backend_is_a_row_not_a_failure(cli, write):
    write("data.jsonl", '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n' * 20)
    path = write("r.yaml", "name: r\nmodel: {openai: gpt-4.1-mini}\ndata: {train: data.jsonl}\n")
    r = cli("estimate", str(path), "-b", "openai", "-b", "vertex")
    assert r.exit_code == 0, r
    assert "no model for this backend (add model.vertex)" in r.stdout
    vertex = rows(cli, str(path), "-b", "vertex")[0]
    assert vertex["available"] is False and vertex["cost_usd"] is None


@pytest.mark.parametrize("args, message", [
    (["--gpu", "b9000"], "error: unknown GPU 'b9000'"),
    (["--backend", "nope"], "error: unknown backend 'nope'"),
])
def test_bad_choices_are_one_line_errors(cli, args, message):
    r = cli("estimate", "quickstart", *args)
    assert r.exit_code != 0
    assert r.stderr.startswith(message) and "Traceback" not in r.stderr


class Acme(Backend):
    name = "acme"
    paid = True


class AcmePlugin:
    @hookimpl
    def ftx_register_backends(self, register):
        register(Acme())

    @hookimpl
    def ftx_estimate(self, backend, recipe, data):
        if backend.name != "acme":
            return None
        n = data["train_examples"]
        return Estimate(backend="acme", model=recipe.model, billable_tokens=n * 100, epochs=1, cost_usd=n / 100,
                        assumptions={"price": "1 cent an example"})


def test_third_party_backend_and_estimator_get_their_row(cli, write):
    get_plugins().register(AcmePlugin(), "acme")
    write("data.jsonl", '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n' * 50)
    path = write("r.yaml", "name: r\nmodel: {acme: acme-1}\ndata: {train: data.jsonl, split: 0.2}\n")
    data = rows(cli, str(path), "-b", "acme")
    assert len(data) == 1 and data[0]["cost_usd"] == 0.4 and data[0]["billable_tokens"] == 4000
    assert "acme: price: 1 cent an example" in cli("estimate", str(path), "-b", "acme").stdout


def test_backend_without_estimator_says_so(cli, write):
    class OnlyBackend:
        @hookimpl
        def ftx_register_backends(self, register):
            register(Acme())

    get_plugins().register(OnlyBackend(), "acme-only")
    write("data.jsonl", '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n' * 20)
    path = write("r.yaml", "name: r\nmodel: {acme: acme-1}\ndata: {train: data.jsonl}\n")
    row = rows(cli, str(path), "-b", "acme")[0]
    assert row["available"] is False and row["notes"] == ["no installed plugin estimates backend 'acme'"]


def test_estimate_imports_no_training_or_provider_sdk(tmp_path):
    driver = ("import json, sys; before = set(sys.modules)\n"
              "sys.argv = ['ftx', 'estimate', 'lora-chat', '--json']\n"
              "from ftx.cli import main\n"
              "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
              "heavy = {'torch', 'transformers', 'peft', 'trl', 'openai', 'google', 'tiktoken', 'datasets'}\n"
              "print('HEAVY=' + json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before} & heavy)))\n")
    proc = subprocess.run([sys.executable, "-c", driver], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY=[]"
    assert json.loads(proc.stdout[: proc.stdout.rindex("HEAVY=")])  # and it printed the estimates
