"""Deterministic, stratified, two-pass streaming splits."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from ftx.errors import DataError
from ftx.data.split import default_ratio, split_file, split_indices, validation_count


def chat(i: int, **extra) -> dict:
    return {"messages": [{"role": "user", "content": f"question {i}"},
                         {"role": "assistant", "content": f"answer {i}"}], **extra}


def jsonl(records) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


def test_split_indices_partitions_deterministically():
    train, val = split_indices(100, 0.2, seed=42)
    assert len(train) == 80 and len(val) == 20
    assert sorted(train + val) == list(range(100)) and train == sorted(train) and val == sorted(val)
    assert split_indices(100, 0.2, seed=42) == (train, val)
    assert split_indices(100, 0.2, seed=7)[1] != val


def test_default_ratio_is_80_20_then_90_10_from_10000():
    assert default_ratio(9_999) == 0.2 and default_ratio(10_000) == 0.1
    assert len(split_indices(9_999)[1]) == 2_000
    assert len(split_indices(10_000)[1]) == 1_000


def test_validation_count_rounds_and_keeps_both_sides():
    assert [validation_count(n, 0.2) for n in (0, 1, 2, 3, 7, 8, 10, 100)] == [0, 0, 1, 1, 1, 2, 2, 20]
    assert validation_count(2, 0.9) == 1  # never the whole stratum
    assert validation_count(5, 0.5) == 3  # half up, not banker's rounding


def test_strata_are_split_in_proportion():
    strata = ["a"] * 60 + ["b"] * 30 + ["c"] * 8 + ["d"] * 2 + ["e"] + [None] * 5
    train, val = split_indices(strata, 0.2, seed=1)
    got = Counter(strata[i] for i in val)
    assert got == {"a": 12, "b": 6, "c": 2, "d": 1, None: 1}
    assert Counter(strata[i] for i in train)["e"] == 1


def test_a_stratum_does_not_depend_on_the_others():
    base = ["a", "b"] * 20
    val_a = [i for i in split_indices(base, 0.25, seed=3)[1] if base[i] == "a"]
    more = base + ["c"] * 10
    assert [i for i in split_indices(more, 0.25, seed=3)[1] if more[i] == "a"] == val_a


def test_unhashable_stratum_values_are_accepted():
    strata = [{"k": 1}, {"k": 1}, [1, 2], [1, 2], 1, "1"]
    train, val = split_indices(strata, 0.5, seed=0)
    assert len(val) == 3  # {"k":1} x2 -> 1, [1,2] x2 -> 1, 1 and "1" are one stratum -> 1


def test_split_file_is_byte_identical_for_a_seed_and_keeps_lines_unchanged(tmp_path, write):
    lines = [json.dumps(chat(i, label="x" if i % 4 else "y"), indent=None, separators=(", ", ":"))
             for i in range(50)]
    lines[3] = '{"label": "y",   "messages": [{"content": "q", "role": "user"}, {"role": "assistant", "content": "caf\\u00e9"}]}'
    src = write("data.jsonl", "\n".join(lines) + "\n\n")
    outs = []
    for run in range(2):
        t, v = tmp_path / f"t{run}.jsonl", tmp_path / f"v{run}.jsonl"
        report = split_file(src, t, v, seed=42)
        outs.append((t.read_bytes(), v.read_bytes()))
        assert (report.train, report.validation, report.ratio, report.format) == (40, 10, 0.2, "chat")
    assert outs[0] == outs[1]
    train_lines, val_lines = outs[0][0].decode().splitlines(), outs[0][1].decode().splitlines()
    assert sorted(train_lines + val_lines) == sorted(lines)  # verbatim, nothing lost or added
    assert [l for l in lines if l in train_lines] == train_lines  # file order kept
    split_file(src, tmp_path / "t.jsonl", tmp_path / "v.jsonl", seed=43)
    assert (tmp_path / "v.jsonl").read_bytes() != outs[0][1]


def test_split_file_stratified_by_dotted_field(tmp_path, write):
    records = [chat(i, meta={"task": "qa" if i < 30 else "sum"}) for i in range(40)] + [chat(40 + i) for i in range(5)]
    src = write("d.jsonl", jsonl(records))
    report = split_file(src, tmp_path / "t.jsonl", tmp_path / "v.jsonl", ratio=0.2, stratify_by="meta.task")
    assert report.strata == {"qa": [24, 6], "sum": [8, 2], "(missing)": [4, 1]}
    assert (report.train, report.validation) == (36, 9)
    val = [json.loads(l) for l in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert Counter(r.get("meta", {}).get("task") for r in val) == {"qa": 6, "sum": 2, None: 1}
    assert any("no 'meta.task'" in n for n in report.notes)


def test_csv_input_writes_raw_records_as_jsonl(tmp_path, write):
    rows = "".join(f'"question {i}","answer {i}",{"a" if i % 2 else "b"}\n' for i in range(10))
    src = write("d.csv", "prompt,completion,label\n" + rows)
    report = split_file(src, tmp_path / "t.jsonl", tmp_path / "v.jsonl", stratify_by="label")
    assert report.strata == {"a": [4, 1], "b": [4, 1]}
    out = [json.loads(l) for l in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert all(set(r) == {"prompt", "completion", "label"} for r in out)


def test_invalid_records_stop_the_split_and_write_nothing(tmp_path, write):
    bad = jsonl([chat(0), chat(1)]) + "{not json\n" + jsonl([chat(2)]) + '{"messages": "nope"}\n'
    src = write("bad.jsonl", bad)
    keep = write("t.jsonl", "previous\n")
    with pytest.raises(DataError) as err:
        split_file(src, keep, tmp_path / "v.jsonl")
    lines = [str(p) for p in err.value.problems]
    assert any(l.startswith(f"{src}:3:") and "invalid JSON" in l for l in lines)
    assert any(l.startswith(f"{src}:5:") for l in lines)
    assert keep.read_text() == "previous\n" and not (tmp_path / "v.jsonl").exists()
    assert list(tmp_path.glob(".*.tmp")) == []


def test_user_errors(tmp_path, write):
    src = write("d.jsonl", jsonl(chat(i) for i in range(10)))
    with pytest.raises(DataError, match="no record has the field 'label'"):
        split_file(src, tmp_path / "t.jsonl", tmp_path / "v.jsonl", stratify_by="label")
    with pytest.raises(DataError, match="three different files"):
        split_file(src, src, tmp_path / "v.jsonl")
    with pytest.raises(DataError, match="between 0 and 1"):
        split_file(src, tmp_path / "t.jsonl", tmp_path / "v.jsonl", ratio=1.0)
    with pytest.raises(DataError, match="no such file"):
        split_file(tmp_path / "missing.jsonl", tmp_path / "t.jsonl", tmp_path / "v.jsonl")


def test_single_record_goes_to_train_with_a_note(tmp_path, write):
    src = write("one.jsonl", jsonl([chat(0)]))
    report = split_file(src, tmp_path / "t.jsonl", tmp_path / "v.jsonl")
    assert (report.train, report.validation) == (1, 0)
    assert (tmp_path / "v.jsonl").read_text() == ""
    assert report.notes and "empty" in report.notes[0]


def test_single_record_strata_are_noted_once(tmp_path, write):
    src = write("d.jsonl", jsonl([chat(i, id=f"u{i}") for i in range(8)] + [chat(9, id="u0")]))
    report = split_file(src, tmp_path / "t.jsonl", tmp_path / "v.jsonl", stratify_by="id")
    assert (report.train, report.validation) == (8, 1) and report.strata["u0"] == [1, 1]
    assert report.notes == ["7 strata have a single record ('u1', 'u2', 'u3', 'u4', 'u5', ...): "
                            "in the training set only"]
