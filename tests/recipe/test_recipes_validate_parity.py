"""``ftx recipes validate`` checks what ``--dry-run`` checks without the network, and says what
it did not check (issue 9, section 4)."""

from __future__ import annotations

import json


def test_validate_opens_the_data_and_checks_format_names(cli, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\nnot json\n')
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: r\nmodel: {{local: ftx/tiny-llama}}\ndata: {{train: {bad}}}\n")
    r = cli("recipes", "validate", recipe)
    assert r.exit_code != 0 and "bad.jsonl:2" in r.stderr
    recipe.write_text(f"name: r\nmodel: {{local: ftx/tiny-llama}}\ndata: {{train: {bad}, format: nope}}\n")
    r = cli("recipes", "validate", recipe)
    assert r.exit_code != 0 and "r.yaml:3: data.format: unknown data format 'nope'" in r.stderr


def test_validate_says_what_it_did_not_check(cli, tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"},
                                                     {"role": "assistant", "content": "a"}]}) + "\n"
                            for i in range(12)))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"name: r\nmodel: {{local: ftx/tiny-llama}}\ndata: {{train: {good}}}\n")
    r = cli("recipes", "validate", recipe)
    assert r.exit_code == 0, r
    assert "checked the data files" in r.stdout and "not checked (needs the network)" in r.stdout
