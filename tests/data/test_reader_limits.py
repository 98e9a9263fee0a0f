"""Data files that used to crash the readers: huge numbers, deep nesting, one enormous line, an
unterminated CSV quote (issue 9, sections 3, 4 and 6)."""

from __future__ import annotations

import json

import pytest

from ftx.data.readers import read_records

BIG = "1" * 5000
DEEP = "[" * 3000 + "]" * 3000


def errors(path) -> list[str]:
    return [r.error for r in read_records(str(path)) if r.error]


@pytest.mark.parametrize("payload", [BIG, DEEP])
def test_jsonl_json_and_csv_cells_refuse_cleanly(tmp_path, payload):
    good = json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]})
    bad = '{"messages": ' + payload + "}"
    (tmp_path / "d.jsonl").write_text(good + "\n" + bad + "\n" + good + "\n")
    recs = list(read_records(str(tmp_path / "d.jsonl")))
    assert [r.error is None for r in recs] == [True, False, True] and recs[1].source.line == 2
    assert recs[1].error.startswith("invalid JSON")
    (tmp_path / "d.json").write_text("[\n" + good + ",\n" + bad + "\n]\n")
    found = errors(tmp_path / "d.json")
    assert found and found[0].startswith("invalid JSON")
    (tmp_path / "d.csv").write_text('messages\n"' + payload + '"\n')
    [rec] = list(read_records(str(tmp_path / "d.csv")))
    assert rec.data == {"messages": payload}  # left as text; the format then says what is wrong


def test_data_validate_on_a_deep_file_is_one_line_per_record(cli, tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"messages": ' + DEEP + "}\n" + '{"n": ' + BIG + "}\n")
    r = cli("data", "validate", path)
    assert r.exit_code == 1 and "Traceback" not in r.stderr
    assert "d.jsonl:1:" in r.stderr and "d.jsonl:2:" in r.stderr


def test_a_line_over_the_record_limit_is_refused_without_holding_it(tmp_path, monkeypatch):
    from ftx.data import limits, readers

    monkeypatch.setattr(limits, "MAX_RECORD_BYTES", 1000)
    monkeypatch.setattr(readers, "MAX_RECORD_BYTES", 1000)
    path = tmp_path / "d.jsonl"
    path.write_text('{"a": 1}\n{"text": "' + "x" * 5000 + '"}\n{"b": 2}\n')
    recs = list(read_records(str(path)))
    assert [r.source.line for r in recs] == [1, 2, 3]
    assert "over the 0 MiB limit" in recs[1].error or "limit per record" in recs[1].error
    assert recs[0].data == {"a": 1} and recs[2].data == {"b": 2}
    big_json = tmp_path / "d.json"
    big_json.write_text('[{"text": "' + "x" * 5000 + '"}]')
    assert "limit per record" in errors(big_json)[0]
    big_csv = tmp_path / "d.csv"
    big_csv.write_text("prompt,completion\n" + "x" * 5000 + ",y\n")
    assert "invalid CSV" in errors(big_csv)[0]


def test_an_unterminated_csv_quote_is_an_error_not_fewer_records(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('prompt,completion\na,b\n"c,d\ne,f\n')
    recs = list(read_records(str(path)))
    assert recs[0].data == {"prompt": "a", "completion": "b"}
    assert recs[-1].error and "invalid CSV" in recs[-1].error and recs[-1].source.line == 3
