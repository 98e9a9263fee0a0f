"""Objectives are plugins: registered like formats and methods, checked against the data, refused
by name where a backend cannot train them (no training here; see tests/local/test_objective_plugins.py)."""

from __future__ import annotations

import json

import pytest

from ftx.pluginmanager import reset_plugins


def test_builtin_objectives_come_from_their_plugins():
    from ftx.components import objectives

    table = objectives()
    assert {"sft", "dpo", "orpo", "kto"} <= set(table)
    assert (table["sft"].plugin, table["dpo"].plugin, table["orpo"].plugin, table["kto"].plugin) == (
        "objectives", "objectives", "orpo", "kto")
    assert table["orpo"].data_kinds == table["dpo"].data_kinds == {"preference"}
    assert table["kto"].data_kinds == {"unpaired"}


@pytest.mark.parametrize("recipe", ["orpo", "kto"])
@pytest.mark.parametrize("backend", ["openai", "vertex"])
def test_hosted_backends_refuse_new_objectives_by_name(cli, recipe, backend):
    r = cli("run", recipe, "--backend", backend, "--dry-run")
    assert r.exit_code != 0
    assert (f"recipes/{recipe}.yaml:" in r.stderr and
            f"objective: backend '{backend}' cannot train objective '{recipe}' (it trains: dpo, sft)" in r.stderr), r


@pytest.mark.parametrize("recipe", ["orpo", "kto"])
def test_the_local_backend_plans_them(cli, recipe):
    r = cli("run", recipe, "--backend", "local", "--dry-run", "--json")
    assert r.exit_code == 0, r
    plan = json.loads(r.stdout)
    assert plan["plan"]["objective"] == recipe and plan["data"]["train_examples"] == 160


def test_estimate_marks_backends_that_cannot_train_the_objective(cli):
    r = cli("estimate", "kto", "--backend", "local,openai", "--gpu", "cpu", "--json")
    assert r.exit_code == 0, r
    rows = {row["backend"]: row for row in json.loads(r.stdout)}
    assert rows["local"]["available"] and rows["local"]["peak_memory_gb"] > 0
    assert not rows["openai"]["available"]
    assert "cannot train objective 'kto'" in " ".join(rows["openai"]["notes"])


def test_disabling_the_plugin_removes_the_objective(cli, monkeypatch):
    monkeypatch.setenv("FTX_DISABLE_PLUGINS", "orpo")
    reset_plugins()
    r = cli("run", "orpo", "--backend", "local", "--dry-run")
    assert r.exit_code != 0 and "recipes/orpo.yaml:16: objective: unknown objective 'orpo'; installed:" in r.stderr, r


def test_kto_format_reads_unpaired_feedback(write):
    from ftx.components import get_format
    from ftx.formats import RecordInvalid

    fmt = get_format("kto")
    record = {"prompt": "2+2?", "completion": "4", "label": True, "source": "app"}
    assert fmt.detect(record) > get_format("prompt-completion").detect(record)
    assert fmt.detect({"prompt": "a", "completion": "b", "label": "sports"}) == 0  # a category, not feedback
    ex = fmt.parse(record)
    assert ex.kind == "unpaired" and [m.role for m in ex.messages] == ["user", "assistant"]
    assert ex.meta == {"source": "app", "label": True}
    assert fmt.dump(ex) == record
    with pytest.raises(RecordInvalid) as err:
        fmt.parse({"prompt": "x", "completion": "y", "label": "yes"})
    assert [f for f, _ in err.value.problems] == ["label"]


def test_data_validate_checks_the_objective(cli, write):
    feedback = write("fb.jsonl", '{"prompt": "a?", "completion": "b", "label": true}\n'
                                 '{"prompt": "c?", "completion": "d", "label": false}\n')
    assert cli("data", "validate", feedback, "--objective", "kto").exit_code == 0
    r = cli("data", "validate", feedback, "--objective", "orpo")
    assert r.exit_code == 1 and "objective orpo needs preference pairs (prompt, chosen, rejected), " \
                                 "but this file holds unpaired examples" in r.stderr
    r = cli("data", "validate", feedback, "--objective", "ppo")
    assert r.exit_code == 2 and "'ppo' is not an installed objective" in r.stderr


def test_kto_needs_both_labels(cli, write):
    write("fb.jsonl", "".join(json.dumps({"prompt": f"q{i}?", "completion": f"a{i}", "label": True}) + "\n"
                              for i in range(10)))
    recipe = write("kto.yaml", "name: k\nmodel: {local: ftx/tiny-llama}\ndata: {train: fb.jsonl}\nobjective: kto\n")
    r = cli("run", recipe, "--backend", "local", "--dry-run")
    assert r.exit_code != 0
    assert "objective kto: KTO needs both desirable and undesirable examples; all" in r.stderr, r


def test_sft_recipes_refuse_feedback_data(cli, write):
    write("fb.jsonl", '{"prompt": "a?", "completion": "b", "label": true}\n' * 3)
    recipe = write("sft.yaml", "name: s\nmodel: {local: ftx/tiny-llama}\ndata: {train: fb.jsonl}\n")
    r = cli("run", recipe, "--backend", "local", "--dry-run")
    assert r.exit_code != 0 and "objective is 'sft' but the data holds unpaired examples" in r.stderr, r
