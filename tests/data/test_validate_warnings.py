"""``ftx data validate`` shows located warnings and exits 0 when there are only warnings."""

from __future__ import annotations

import json

import pytest

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


def test_exact_duplicates_are_records_equal_as_json(cli, tmp_path, monkeypatch):
    """Key order does not matter; NaN is not null; ints beyond 64 bits compare exactly; the same
    with and without orjson (which writes the canonical form when installed)."""
    tool = {"messages": [{"role": "user", "content": "t"},
                         {"role": "assistant", "content": None, "tool_calls": [
                             {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                         {"role": "tool", "tool_call_id": "c1", "content": "r"},
                         {"role": "assistant", "content": "done"}]}
    lines = [json.dumps(CHAT),                                                       # 1
             json.dumps({"messages": [{"content": "a", "role": "user"},              # 2: 1 reordered
                                      {"content": "b", "role": "assistant"}]}),
             json.dumps({**CHAT, "n": float("nan")}), json.dumps({**CHAT, "n": None}),  # 3, 4: differ
             json.dumps({**CHAT, "n": 2**70}), json.dumps({**CHAT, "n": 2**70 + 1}),    # 5, 6: differ
             json.dumps(tool), json.dumps(tool)]                                     # 7, 8: 8 repeats 7
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(lines) + "\n")
    for no_orjson in ("", "1"):
        monkeypatch.setenv("FTX_NO_ORJSON", no_orjson)
        from ftx.data import fastjson, record_warnings

        monkeypatch.setattr(fastjson, "_orjson", fastjson._UNSET)  # read the setting again
        found, total = record_warnings.record_warnings(str(path))
        dup = [p for p in found if "exact duplicate" in p.message]
        assert len(dup) == 1 and dup[0].line == 2, (no_orjson, [(p.line, p.message) for p in found])
        assert "(2 exact duplicates of earlier records in all; also lines 8)" in dup[0].message


def test_duplicate_pairs_are_the_same_with_and_without_numpy(monkeypatch):
    """The keys are compared once at the end (16 bytes per record while the file streams), as the
    duplicate index compares its keys: numpy from 512 records, pure Python below or with
    FTX_DEDUPE_NUMPY=0; both give each repeat with its first copy, in file order."""
    import random
    from array import array

    from ftx.data import record_warnings as rw

    rng = random.Random(3)
    keys = array("q", (rng.choice([rng.getrandbits(64) - 2**63, 7, -1, 2**63 - 1, 12345]) for _ in range(3000)))
    lines = array("Q", range(10, 3010))
    expected = []
    first: dict[int, int] = {}
    for k, line in zip(keys, lines):
        if k in first:
            expected.append((line, first[k]))
        else:
            first[k] = line
    assert len(expected) > 2000
    pytest.importorskip("numpy")
    assert rw.exact_duplicates(keys, lines) == expected  # numpy (3,000 >= 512)
    monkeypatch.setenv("FTX_DEDUPE_NUMPY", "0")
    assert rw.exact_duplicates(keys, lines) == expected  # pure Python
    assert rw.exact_duplicates(array("q", [1, 2, 3]), array("Q", [1, 2, 3])) == []
    assert rw.exact_duplicates(array("q"), array("Q")) == []
