"""A local run never deletes or overwrites what ftx did not write (issue 9, section 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ftx.errors import BackendError


def run(recipe):
    from ftx.plugins.local.train import run_local

    return run_local(recipe, None, echo=lambda _: None, progress=False)


def test_a_foreign_non_empty_folder_is_refused_and_left_untouched(tiny_model, make_recipe, chat_files, tmp_path):
    out = tmp_path / "mine"
    (out / "checkpoints").mkdir(parents=True)
    (out / "checkpoints" / "precious.bin").write_bytes(b"x")
    (out / "summary.json").write_text("my own notes")
    recipe = make_recipe(*chat_files, max_steps=1, overrides=(f"output_dir={out}",))
    with pytest.raises(BackendError, match="not written by ftx"):
        run(recipe)
    assert (out / "checkpoints" / "precious.bin").read_bytes() == b"x"
    assert (out / "summary.json").read_text() == "my own notes"
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints", "summary.json"]


def test_a_regular_file_is_refused_by_the_dry_run_check(make_recipe, chat_files, tmp_path):
    from ftx.plugins.local.backend import LocalBackend

    out = tmp_path / "a-file"
    out.write_text("data")
    recipe = make_recipe(*chat_files, overrides=(f"output_dir={out}",))
    errors = [f for f in LocalBackend().check(recipe) if f.level == "error"]
    assert errors and errors[0].field == "output_dir" and "is a file" in errors[0].message
    assert out.read_text() == "data"


def test_dry_run_cli_refuses_a_foreign_folder(cli, chat_files, tmp_path):
    out = tmp_path / "theirs"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    train, val = chat_files
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: r\nmodel: {{local: ftx/tiny-llama}}\ndata: {{train: {train}}}\n"
                      f"method: {{name: lora}}\noutput_dir: {out}\n")
    r = cli("run", recipe, "--backend", "local", "--dry-run")
    assert r.exit_code != 0 and "not written by ftx" in r.stderr
    assert "r.yaml:5: output_dir" in r.stderr  # the recipe's line for output_dir


@pytest.mark.slow
def test_an_empty_folder_is_taken_and_reused_after_a_failure(tiny_model, make_recipe, chat_files, tmp_path):
    from ftx.plugins.local.ownership import MARKER, owned, refusal

    out = tmp_path / "empty"
    out.mkdir()
    assert refusal(out) is None
    recipe = make_recipe(*chat_files, max_steps=1, overrides=(f"output_dir={out}",))
    summary = run(recipe)
    assert Path(summary["run_dir"]) == out and (out / MARKER).is_file() and owned(out)
    with pytest.raises(BackendError, match="already holds a finished run"):
        run(recipe)
