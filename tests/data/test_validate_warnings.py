"""``ftx data validate`` shows located warnings and exits 0 when there are only warnings."""

from __future__ import annotations

import json

CHAT = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
OPEN = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                     {"role": "user", "content": "c"}]}


def test_warnings_with_their_lines_and_exit_zero(cli, tmp_path):
    path = tmp_path / "w.jsonl"
    path.write_text(json.dumps(CHAT) + "\n\n" + json.dumps(CHAT) + "\n" + json.dumps(OPEN) + "\n")
    r = cli("data", "validate", path)
    assert r.exit_code == 0, r
    assert "w.jsonl:2: 1 blank line" in r.stderr
    assert "w.jsonl:3: exact duplicate of line 1\n" in r.stderr
    assert "w.jsonl:4: the conversation ends on a user turn" in r.stderr
    report = json.loads(cli("data", "validate", path, "--json").stdout)
    assert len(report[0]["warnings"]) == 3


def test_a_clean_file_has_no_warnings(cli, tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(CHAT) + "\n")
    r = cli("data", "validate", path)
    assert r.exit_code == 0 and "warning" not in r.stderr
