"""`ftx data validate` and `ftx data convert` from the command line."""

from __future__ import annotations

import json

CHAT = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
BAD = {"messages": [{"role": "assistant", "content": "a"}]}


def lines(*records):
    return "".join(json.dumps(r) + "\n" for r in records)


def test_validate_clean_file(cli, write):
    path = write("train.jsonl", lines(*[CHAT] * 1200))
    r = cli("data", "validate", path)
    assert r.exit_code == 0, r
    assert r.stdout == f"{path}: 1,200 records, format chat, 0 invalid\n"
    # 1,200 copies of one record: valid, with one summarised warning (issue 9: warnings are shown)
    [warning] = r.stderr.splitlines()
    assert warning.startswith(f"warning: {path}:2: exact duplicate of line 1 (1199 exact duplicates")


def test_validate_prints_every_problem_and_exits_1(cli, write):
    path = write("train.jsonl", lines(CHAT, BAD, CHAT) + "oops\n" + lines(BAD))
    r = cli("data", "validate", path)
    assert r.exit_code == 1, r
    assert [line for line in r.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {path}:2: messages[0].role: the conversation must start with a user message, not assistant",
        f"error: {path}:4: invalid JSON: Expecting value (column 1)",
        f"error: {path}:5: messages[0].role: the conversation must start with a user message, not assistant",
    ]
    assert r.stdout == f"{path}: 5 records, format chat, 3 invalid\n"


def test_validate_several_files_and_max_problems(cli, write):
    good = write("good.jsonl", lines(CHAT))
    bad = write("bad.jsonl", lines(*[BAD] * 5))
    r = cli("data", "validate", good, bad, "--max-problems", "2")
    assert r.exit_code == 1, r
    assert r.stdout.splitlines() == [f"{good}: 1 record, format chat, 0 invalid",
                                     f"{bad}: 5 records, format chat, 5 invalid"]
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 3 and errors[-1] == f"error: {bad}: 3 more problems not shown (--max-problems)"


def test_validate_objective_and_format_options(cli, write):
    path = write("train.jsonl", lines(CHAT))
    r = cli("data", "validate", path, "--objective", "dpo")
    assert r.exit_code == 1 and "objective dpo needs preference pairs" in r.stderr
    r = cli("data", "validate", path, "--format", "gemini")
    assert r.exit_code == 1 and "record is chat data, but this file holds gemini" in r.stderr
    r = cli("data", "validate", path, "--objective", "ppo")
    assert r.exit_code == 2  # click usage error


def test_validate_json_output(cli, write):
    path = write("train.jsonl", lines(CHAT, BAD))
    r = cli("data", "validate", path, "--json")
    assert r.exit_code == 1
    [report] = json.loads(r.stdout)
    assert (report["path"], report["format"], report["records"], report["invalid"]) == (str(path), "chat", 2, 1)
    assert report["problems"] == [{"message": "the conversation must start with a user message, not assistant",
                                   "file": str(path), "line": 2, "field": "messages[0].role"}]


def test_validate_missing_file_and_unknown_kind(cli, write, tmp_path):
    good = write("good.jsonl", lines(CHAT))
    r = cli("data", "validate", tmp_path / "nope.jsonl", good)
    assert r.exit_code == 1
    assert f"error: {tmp_path / 'nope.jsonl'}: no such file (supported: .jsonl" in r.stderr
    assert r.stdout == f"{good}: 1 record, format chat, 0 invalid\n"  # the other file is still checked
    r = cli("data", "validate", write("x.txt", "hi"), "--json")
    assert r.exit_code == 1 and json.loads(r.stdout)[0]["ok"] is False


def test_validate_undetectable_format(cli, write):
    r = cli("data", "validate", write("a.jsonl", lines({"question": "q"})))
    assert r.exit_code == 1 and "cannot tell the data format" in r.stderr and "format chat: keys messages" in r.stderr


def test_convert(cli, write, tmp_path):
    src = write("train.jsonl", lines(CHAT, CHAT))
    dst = tmp_path / "out" / "train.gemini.jsonl"
    r = cli("data", "convert", src, dst, "--to", "gemini")
    assert r.exit_code == 0, r
    assert r.stdout == f"wrote 2 examples to {dst} (chat -> gemini)\n"
    assert json.loads(dst.read_text().splitlines()[0])["contents"][1]["role"] == "model"


def test_convert_failure_prints_every_problem(cli, write, tmp_path):
    src = write("train.jsonl", lines(CHAT, BAD, BAD))
    dst = tmp_path / "out.jsonl"
    r = cli("data", "convert", src, dst, "--to", "gemini")
    assert r.exit_code == 1
    assert [line.split(": ")[0] for line in r.stderr.splitlines()[:2]] == ["error", "error"]
    assert f"{src}:2: messages[0].role" in r.stderr and f"{src}:3: messages[0].role" in r.stderr
    assert f"hint: nothing was written to {dst}" in r.stderr
    assert not dst.exists()


def test_convert_unknown_target(cli, write, tmp_path):
    r = cli("data", "convert", write("a.jsonl", lines(CHAT)), tmp_path / "o.jsonl", "--to", "nope")
    assert r.exit_code == 2 and "unknown data format 'nope'" in r.stderr
