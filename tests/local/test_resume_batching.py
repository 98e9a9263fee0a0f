"""A resumed run keeps the batching order it started in: the interrupted epoch is cut in that order,
so resuming a random-order run in length-grouped batches (the default since ftx grouped them)
would train some of its examples twice and skip others."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from test_resume import metrics, reference_then_killed

RECIPE = """\
name: resume-order
model: {{local: ftx/tiny-llama}}
data: {{train: {train}, validation: {val}}}
method: {{name: lora}}
hyperparameters: {{max_steps: 12, batch_size: 4, max_length: 48, learning_rate: 3.0e-3, seed: 3}}
eval: {{strategy: steps, steps: 6, samples: []}}
backends: {{local: {{checkpoint_steps: 5{batching}}}}}
"""


def write_recipe(path: Path, chat_files: tuple[Path, Path], batching: str | None) -> Path:
    train, val = chat_files
    path.write_text(RECIPE.format(train=train, val=val, batching=f", batching: {batching}" if batching else ""),
                    encoding="utf-8")
    return path


def test_the_started_order_comes_from_the_marker_else_the_saved_training_arguments(tmp_path):
    import torch

    from ftx.plugins.local.resume import started_batching, write_marker

    checkpoint = tmp_path / "checkpoints" / "checkpoint-5"
    checkpoint.mkdir(parents=True)
    assert started_batching(checkpoint) is None  # nothing to read: the recipe decides

    torch.save(SimpleNamespace(train_sampling_strategy="random"), checkpoint / "training_args.bin")
    assert started_batching(checkpoint) == "random"  # ftx before grouped batching: random order
    torch.save(SimpleNamespace(train_sampling_strategy="group_by_length"), checkpoint / "training_args.bin")
    assert started_batching(checkpoint) == "grouped"
    torch.save(SimpleNamespace(train_sampling_strategy="random", ftx_batching="padding_free"),
               checkpoint / "training_args.bin")
    assert started_batching(checkpoint) == "padding_free"

    write_marker(checkpoint.parent / "latest.json", 5, "random")
    assert json.loads((checkpoint.parent / "latest.json").read_text()) == {
        "step": 5, "checkpoint": "checkpoint-5", "batching": "random"}
    assert started_batching(checkpoint) == "random"  # the marker wins over the arguments


class _Planted:
    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.path}",))


def test_saved_training_arguments_are_read_without_running_the_pickle(tmp_path):
    """``training_args.bin`` is a pickle in the run folder: reading the order from it must not
    run what it names (a planted file could otherwise run any command at ``--resume``)."""
    import torch
    from transformers import TrainingArguments

    from ftx.plugins.local.resume import saved_fields, started_batching

    checkpoint = tmp_path / "checkpoints" / "checkpoint-5"
    checkpoint.mkdir(parents=True)
    args = TrainingArguments(output_dir=str(tmp_path), train_sampling_strategy="group_by_length", use_cpu=True)
    torch.save(args, checkpoint / "training_args.bin")  # what transformers writes
    assert started_batching(checkpoint) == "grouped"
    assert saved_fields(checkpoint / "training_args.bin")["learning_rate"] == args.learning_rate

    planted = _Planted()
    planted.path = tmp_path / "ran"
    torch.save(SimpleNamespace(train_sampling_strategy=planted), checkpoint / "training_args.bin")
    assert started_batching(checkpoint) == "random"
    assert not planted.path.exists()
    (checkpoint / "training_args.bin").write_bytes(b"not a zip")
    assert started_batching(checkpoint) is None


def test_an_unset_order_follows_the_run_and_a_different_one_is_refused_at_its_line(tmp_path, chat_files):
    from ftx.errors import BackendError
    from ftx.plugins.local.batching import effective_mode, keep_on_resume
    from ftx.recipe import load_recipe

    unset = load_recipe(write_recipe(tmp_path / "unset.yaml", chat_files, None), backend="local")
    assert effective_mode(unset) == "grouped"
    keep_on_resume(unset, None)
    assert effective_mode(unset) == "grouped"  # nothing recorded: as the recipe says
    keep_on_resume(unset, "random", "run-1")
    assert effective_mode(unset) == "random"

    same = load_recipe(write_recipe(tmp_path / "same.yaml", chat_files, "random"), backend="local")
    keep_on_resume(same, "random", "run-1")
    assert effective_mode(same) == "random"

    other = load_recipe(write_recipe(tmp_path / "other.yaml", chat_files, "grouped"), backend="local")
    with pytest.raises(BackendError) as err:
        keep_on_resume(other, "random", "run-1")
    (problem,) = err.value.problems
    assert (problem.file, problem.line, problem.field) == (str(tmp_path / "other.yaml"), 7, "backends.local.batching")
    assert "run run-1 started with batching random" in problem.message and "set batching: random" in problem.message
    assert effective_mode(other) == "grouped"  # refused, not changed


@pytest.mark.slow
def test_a_random_order_run_from_before_grouping_resumes_in_random_order(tiny_model, cli, chat_files, tmp_path,
                                                                         ftx_home):
    import torch

    recipe = write_recipe(tmp_path / "r.yaml", chat_files, "random")
    _, expected, _, run_dir = reference_then_killed(cli, recipe, ftx_home)
    # What a run started by an ftx without batching modes left: a marker without the order,
    # training arguments without ftx's field; and its recipe never said "random".
    marker = run_dir / "checkpoints" / "latest.json"
    record = json.loads(marker.read_text())
    assert record.pop("batching") == "random"
    marker.write_text(json.dumps(record))
    args_file = run_dir / "checkpoints" / record["checkpoint"] / "training_args.bin"
    args = torch.load(args_file, weights_only=False)
    del args.ftx_batching
    torch.save(args, args_file)
    write_recipe(recipe, chat_files, None)
    from ftx.recipe import load_recipe
    from ftx.registry import Registry

    unset = load_recipe(recipe, backend="local")
    with Registry() as reg:  # the run was started from this recipe, whose order was then random
        reg.update_run(run_dir.name, recipe_hash=unset.snapshot_hash(), recipe_snapshot=unset.to_dict())

    resumed = cli("run", recipe, "--backend", "local", "--resume")
    assert resumed.exit_code == 0, resumed
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "succeeded" and summary["batching"]["mode"] == "random"
    got = metrics(run_dir)
    assert [r["step"] for r in got] == [r["step"] for r in expected]
    for mine, theirs in zip(got, expected):
        for key in ("loss", "eval_loss"):
            if key in theirs:
                assert mine[key] == pytest.approx(theirs[key], abs=1e-6), (key, mine, theirs)
