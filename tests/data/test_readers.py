"""Streaming readers: line numbers, file kinds, memory that stays flat."""

from __future__ import annotations

import csv
import json
import os
import threading
import tracemalloc

import pytest

from ftx.data import readers
from ftx.data.readers import read_records
from ftx.errors import DataError

CHAT = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def rows(path):
    return [(r.source.line, r.data, r.error) for r in read_records(str(path))]


def test_jsonl_skips_blank_lines_and_counts_them(write):
    path = write("a.jsonl", '{"a": 1}\n\n   \n{"a": 2}\r\n[3]\n{"a": 4}')
    assert rows(path) == [(1, {"a": 1}, None), (4, {"a": 2}, None),
                          (5, [3], "record is a list, not an object"), (6, {"a": 4}, None)]
    assert all(r.source.file == str(path) for r in read_records(str(path)))


def test_jsonl_tolerates_bom_at_start_and_between_joined_files(write):
    bom = "\ufeff"
    path = write("a.ndjson", f'{bom}{{"a": 1}}\n{bom}{{"a": 2}}\n')
    assert rows(path) == [(1, {"a": 1}, None), (2, {"a": 2}, None)]


def test_jsonl_bad_bytes_are_one_bad_line(write):
    path = write("a.jsonl", b'{"a": 1}\n{"a": "\xc3("}\n{"a": 3}\n')
    assert rows(path) == [(1, {"a": 1}, None), (2, None, "not valid UTF-8: byte 0xc3 at column 8"),
                          (3, {"a": 3}, None)]


def test_json_array_lines_point_at_each_element(write):
    text = '[\n  {"a": 1},\n\n  {\n    "a": 2\n  }, {"a": 3},\n  "x"\n]\n'
    path = write("a.json", text)
    assert rows(path) == [(2, {"a": 1}, None), (4, {"a": 2}, None), (6, {"a": 3}, None),
                          (7, "x", "record is a string, not an object")]


def test_json_empty_array_and_empty_file(write):
    assert rows(write("a.json", " [ ] \n")) == []
    assert rows(write("b.json", "")) == []
    assert rows(write("c.jsonl", "\n\n")) == []


def test_json_holding_json_lines_is_read_as_lines(write):
    # datasets.Dataset.to_json writes JSON Lines under a .json name.
    path = write("a.json", '{"a": 1}\n{"a": 2}\n')
    assert rows(path) == [(1, {"a": 1}, None), (2, {"a": 2}, None)]


@pytest.mark.parametrize("text,line,error", [
    ('{\n "a": 1\n}', 1, "a .json file must hold an array of objects (or one object per line)"),
    ('"just text"', 1, "a .json file must hold an array of objects (or one object per line)"),
    ('[{"a": 1}]\n\n[{"a": 2}]', 3, "invalid JSON: extra data after the array (column 1)"),
    ('[{"a": 1},\n]', 2, "invalid JSON: trailing comma before ']' (column 1)"),
    ('[{"a": 1},\n{"a": 2}', 2,
     "invalid JSON: file ends before the array is closed (expected ',' or ']')"),
])
def test_json_array_structure_errors(write, text, line, error):
    got = rows(write("a.json", text))
    assert got[-1] == (line, None, error)


def test_json_bad_bytes_keep_the_records_before_them(write):
    path = write("a.json", b'[\n{"a": 1},\n{"a": "\xff"}\n]')
    assert rows(path) == [(2, {"a": 1}, None), (3, None, "not valid UTF-8: byte 0xff at column 8")]


def test_json_array_matches_json_load_across_chunk_boundaries(write, monkeypatch):
    # Tiny chunks cut numbers, literals, escapes and multi-byte characters everywhere.
    monkeypatch.setattr(readers, "JSON_CHUNK", 7)
    records = [{"n": i * 1234567, "f": -1.5e-3, "t": True, "z": None, "s": "é€😀\"\\u" * (i % 3),
                "l": [1, {"k": "v"}]} for i in range(60)]
    path = write("a.json", json.dumps(records, indent=1, ensure_ascii=bool(0)))
    got = list(read_records(str(path)))
    assert [r.data for r in got] == records
    expected_lines = [i + 1 for i, line in enumerate(path.read_text().splitlines()) if line == " {"]
    assert [r.source.line for r in got] == expected_lines


def test_json_array_yields_first_record_before_the_rest_exists(tmp_path):
    pipe = tmp_path / "stream.json"
    os.mkfifo(pipe)
    first_seen = threading.Event()
    finished_early = []

    def writer():
        with open(pipe, "w") as out:
            out.write("[\n" + json.dumps(CHAT) + ",\n")
            out.flush()
            finished_early.append(not first_seen.wait(10))
            out.write(json.dumps({"a": 2}) + "\n]\n")

    thread = threading.Thread(target=writer)
    thread.start()
    stream = read_records(str(pipe))
    first = next(stream)
    first_seen.set()
    rest = list(stream)
    thread.join(10)
    assert first.data == CHAT and first.source.line == 2
    assert [r.data for r in rest] == [{"a": 2}]
    assert finished_early == [False]  # the reader did not wait for the end of the file


def _write_big(path, records: int, text_size: int) -> None:
    line = json.dumps({"messages": [{"role": "user", "content": "q" * text_size},
                                    {"role": "assistant", "content": "a"}]})
    with open(path, "w") as out:
        if path.suffix == ".json":
            out.write("[\n" + ",\n".join([line] * records) + "\n]\n")
        else:
            out.write("\n".join([line] * records) + "\n")


@pytest.mark.parametrize("kind", ["jsonl", "json"])
def test_peak_memory_is_one_record_not_the_file(tmp_path, kind):
    path = tmp_path / f"big.{kind}"
    _write_big(path, 8_000, 1_000)
    assert path.stat().st_size > 8_000_000
    tracemalloc.start()
    try:
        count = sum(1 for r in read_records(str(path)) if r.error is None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 8_000
    assert peak < 1_000_000, peak


@pytest.mark.parametrize("kind", ["jsonl", "json"])
def test_memory_stays_flat_on_100k_lines(tmp_path, kind):
    # tracemalloc makes 100k records slow; the process's peak RSS tells the same story quickly.
    import subprocess
    import sys

    path = tmp_path / f"big.{kind}"
    _write_big(path, 100_000, 150)
    assert path.stat().st_size > 20_000_000
    code = ("import resource, sys\n"
            "from ftx.data.readers import read_records\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "n = sum(1 for r in read_records(sys.argv[1]) if r.error is None)\n"
            "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "print(n, (after - before) * 1024)\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    count, growth = map(int, out.stdout.split())
    assert count == 100_000
    assert growth < 6_000_000, growth


def test_csv_round_trip_with_json_cells_and_multiline_rows(write, tmp_path):
    path = tmp_path / "a.csv"
    with open(path, "w", newline="", encoding="utf-8") as out:
        w = csv.DictWriter(out, fieldnames=["messages", "label", "prompt"])
        w.writeheader()
        w.writerow({"messages": json.dumps(CHAT["messages"]), "label": "a", "prompt": "[INST] text"})
        w.writerow({"messages": json.dumps([{"role": "user", "content": "two\nlines"}]), "label": "b\nc",
                    "prompt": "[1, 2]"})
        w.writerow({"messages": "not json", "label": "", "prompt": ""})
    got = rows(path)
    assert [g[0] for g in got] == [2, 3, 5]
    assert got[0][1] == {"messages": CHAT["messages"], "label": "a", "prompt": "[INST] text"}
    # JSON is decoded only where it is a list of objects: a prompt that looks like a list stays text.
    assert got[1][1]["messages"][0]["content"] == "two\nlines" and got[1][1]["prompt"] == "[1, 2]"
    assert got[2][1]["messages"] == "not json"


def test_csv_bom_header_and_extra_fields(write):
    path = write("a.csv", "\ufeffinstruction,output\nA,B\nC,D,E\n")
    assert rows(path) == [(2, {"instruction": "A", "output": "B"}, None),
                          (3, None, "row has 3 fields, the header has 2")]


def test_parquet_round_trip(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([
        {"messages": [{"role": "user", "content": "hi", "name": None},
                      {"role": "assistant", "content": "yo", "name": "bot"}], "label": "x"},
        {"messages": [{"role": "user", "content": "q", "name": None},
                      {"role": "assistant", "content": "a", "name": None}], "label": None},
    ] * 1500)
    path = tmp_path / "a.parquet"
    pq.write_table(table, path, row_group_size=1000)
    got = list(read_records(str(path)))
    assert len(got) == 3000 and [r.source.line for r in got[:3]] == [1, 2, 3] and got[-1].source.line == 3000
    # Columnar nulls mean "absent": they must not become unknown keys or null content.
    assert got[0].data == {"messages": [{"role": "user", "content": "hi"},
                                        {"role": "assistant", "content": "yo", "name": "bot"}], "label": "x"}
    assert got[1].data == {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}

    from ftx.data.validate import validate_file

    report = validate_file(str(path))
    assert (report.format, report.records, report.invalid) == ("chat", 3000, 0)


def test_unreadable_parquet_is_a_data_error(write):
    path = write("a.parquet", "not parquet")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        list(read_records(str(path)))


def test_saved_dataset_directory_and_hub_name(tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    data = [CHAT, {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}]
    datasets.Dataset.from_list(data).save_to_disk(str(tmp_path / "saved"))
    got = list(read_records(str(tmp_path / "saved")))
    assert [(r.source.line, r.data) for r in got] == [(1, data[0]), (2, data[1])]

    datasets.DatasetDict({"train": datasets.Dataset.from_list(data[:1]),
                          "test": datasets.Dataset.from_list(data[1:])}).save_to_disk(str(tmp_path / "dd"))
    assert [r.data for r in read_records(str(tmp_path / "dd"))] == data[:1]

    calls = []

    def fake_load(name, split):
        calls.append((name, split))
        return datasets.Dataset.from_list(data)

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    got = list(read_records("hf:org/chats:validation"))
    assert calls == [("org/chats", "validation")]
    assert [(r.source.file, r.source.line) for r in got] == [("hf:org/chats:validation", 1),
                                                             ("hf:org/chats:validation", 2)]
    list(read_records("hf:org/chats"))
    assert calls[-1] == ("org/chats", "train")


@pytest.mark.parametrize("name", ["data.txt", "data"])
def test_unknown_extension_names_file_and_supported_kinds(write, name):
    path = write(name, "hello")
    with pytest.raises(DataError) as info:
        read_records(str(path))
    text = str(info.value)
    assert text.startswith(f"{path}: unsupported kind of file ")
    assert all(kind in text for kind in (".jsonl", ".ndjson", ".json", ".csv", ".parquet", "save_to_disk", "hf:NAME"))


def test_missing_file_and_plain_directory(tmp_path):
    with pytest.raises(DataError) as info:
        read_records(str(tmp_path / "nope.jsonl"))
    assert str(info.value).startswith(f"{tmp_path / 'nope.jsonl'}: no such file (supported: .jsonl")
    with pytest.raises(DataError, match="not one written by datasets.save_to_disk"):
        read_records(str(tmp_path))


def test_readers_do_not_import_heavy_libraries():
    import subprocess
    import sys

    code = ("import sys, ftx.data.readers, ftx.data.validate, ftx.data.convert, ftx.cli.data_check;"
            "print(sorted(m for m in ('pyarrow', 'datasets', 'pandas', 'numpy', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_read_records_accepts_path_objects(write):
    path = write("a.jsonl", '{"a": 1}\n')
    assert [r.data for r in read_records(path)] == [{"a": 1}]
