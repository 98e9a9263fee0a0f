"""``ftx data stats`` and ``ftx data split``: exit codes, stdout, warnings on stderr."""

from __future__ import annotations

import json

from ftx.data.tokens import get_counter


def chat(i: int, answer: str | None = None, **extra) -> dict:
    return {"messages": [{"role": "user", "content": f"question number {i}"},
                         {"role": "assistant", "content": answer or f"the answer to question {i} is {i * 7}"}],
            **extra}


def jsonl(records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def warnings_of(stderr: str) -> list[str]:
    return [l[len("warning: "):] for l in stderr.splitlines() if l.startswith("warning: ")]


def test_stats_prints_a_table_and_warnings(cli, write):
    src = write("d.jsonl", jsonl([chat(i) for i in range(30)] + [chat(3)]))
    r = cli("data", "stats", src)
    assert r.exit_code == 0, r
    assert f"train {src}: 31 examples" in r.stdout
    assert "1 exact, 0 near (3.2%)" in r.stdout
    w = warnings_of(r.stderr)
    assert any(x.startswith("Only 31 training examples: tasks with fewer than 100") for x in w)
    assert any("3.2% of the training examples are duplicates" in x and "lines 4, 31 of" in x for x in w)
    assert any("overfitting cannot be detected" in x for x in w)
    assert "zero-shot and few-shot baseline" in w[-1]


def test_stats_json_with_validation_leakage_and_tokens(cli, write):
    records = [chat(i, "yes" if i % 4 == 0 else None, label="a" if i % 5 else "b") for i in range(40)]
    train = write("t.jsonl", jsonl(records))
    val = write("v.jsonl", jsonl([chat(100 + i) for i in range(10)] + [chat(7)]))
    r = cli("data", "stats", train, "--validation", val, "--tokenizer", "gpt-4o-mini", "--max-length", "12",
            "--stratify-by", "label", "--json")
    assert r.exit_code == 0, r
    out = json.loads(r.stdout)
    assert out["train"]["examples"] == 40 and out["validation"]["examples"] == 11
    assert out["train"]["unit"] == "tokens" and out["train"]["tokenizer"] == "o200k_base"
    assert out["train"]["strata"] == {"a": 32, "b": 8}
    assert out["overlap"]["leaked"] == 1
    assert out["overlap"]["leaks"][0] == {"line": f"{val}:11", "kind": "exact", "train_lines": [f"{train}:8"],
                                          "similarity": 1.0}
    assert out["warnings"] == warnings_of(r.stderr)
    assert any(w.startswith("1 validation example duplicates training data (line 11 of") for w in out["warnings"])
    assert any("validation set is small (11 examples" in w for w in out["warnings"])
    count = get_counter("o200k_base").count
    longer = sum(1 for r in records if sum(count(m["content"]) for m in r["messages"]) > 12)
    assert 0 < longer < 40 and out["train"]["over_max_length"] == longer
    assert any(w.startswith(f"{longer} training examples are longer than max_length 12 tokens") for w in out["warnings"])


def test_stats_skips_invalid_records_with_a_warning(cli, write):
    src = write("d.jsonl", jsonl([chat(i) for i in range(12)]) + "{broken\n")
    r = cli("data", "stats", src, "--json")
    assert r.exit_code == 0, r
    assert json.loads(r.stdout)["train"]["examples"] == 12
    assert json.loads(r.stdout)["invalid_records"] == {str(src): 1}
    assert any(w.startswith(f"{src}: 1 invalid record skipped (first: {src}:13: invalid JSON")
               for w in warnings_of(r.stderr))


def test_stats_user_errors(cli, write, tmp_path):
    r = cli("data", "stats", tmp_path / "missing.jsonl")
    assert r.exit_code == 1 and "error:" in r.stderr and "no such file" in r.stderr
    src = write("d.jsonl", jsonl([chat(0)]))
    r = cli("data", "stats", src, "--tokenizer", "no-such-tokenizer")
    assert r.exit_code == 2 and "error: tokenizer: unknown tokenizer 'no-such-tokenizer'" in r.stderr
    assert "Traceback" not in r.stderr


def test_split_defaults_next_to_the_input(cli, write, tmp_path):
    src = write("data.jsonl", jsonl([chat(i, label="pos" if i % 4 else "neg") for i in range(40)]))
    r = cli("data", "split", src, "--stratify-by", "label", "--seed", "5")
    assert r.exit_code == 0, r
    train, val = tmp_path / "data.train.jsonl", tmp_path / "data.val.jsonl"
    assert len(train.read_text().splitlines()) == 32 and len(val.read_text().splitlines()) == 8
    assert "train             32" in r.stdout and "validation         8" in r.stdout
    assert "pos        24 / 6" in r.stdout and "neg         8 / 2" in r.stdout
    first = val.read_bytes()
    r = cli("data", "split", src, "--stratify-by", "label", "--seed", "5", "--out-val", tmp_path / "again.jsonl",
            "--out-train", tmp_path / "again-train.jsonl")
    assert r.exit_code == 0 and (tmp_path / "again.jsonl").read_bytes() == first


def test_split_ratio_and_errors(cli, write, tmp_path):
    src = write("d.jsonl", jsonl([chat(i) for i in range(20)]) + '{"messages": []}\n')
    r = cli("data", "split", src, "--ratio", "1.5")
    assert r.exit_code == 2 and "between 0 and 1" in r.stderr
    r = cli("data", "split", src, "--ratio", "0.5")
    assert r.exit_code == 1 and f"error: {src}:21:" in r.stderr
    assert not (tmp_path / "d.train.jsonl").exists() and not (tmp_path / "d.val.jsonl").exists()
    good = write("g.jsonl", jsonl([chat(i) for i in range(20)]))
    r = cli("data", "split", good, "--ratio", "0.25")
    assert r.exit_code == 0 and "validation         5" in r.stdout
