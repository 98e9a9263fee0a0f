"""orjson (``ftx[fast]``) changes no result: JSON Lines read with it give the same records and
the same error messages as with the standard library, and upload files the same bytes.

Each comparison runs the same input with orjson and with ``ftx.data.fastjson`` told it is
absent (what a machine without orjson, or ``FTX_NO_ORJSON=1``, does).
"""

from __future__ import annotations

import json
import math

import pytest

from ftx.data import fastjson
from ftx.data.readers import read_records
from ftx.hosted.prepare import PlainChatRecord, jsonl

orjson = pytest.importorskip("orjson")


@pytest.fixture
def without_orjson(monkeypatch):
    def switch(off: bool) -> None:
        monkeypatch.setattr(fastjson, "_orjson", None if off else orjson)
    return switch


# Lines where orjson and json disagree or may: each must read exactly as the stdlib reads it.
HOSTILE = [
    b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}', b'{"a": 1e400}', b'{"a": 2e308}',
    b'{"a": 12345678901234567890123}', b'{"a": 18446744073709551615}', b'{"a": 18446744073709551616}',
    b'{"a": -9223372036854775809}', b'{"a": -9223372036854775808}', b'{"a": 1234567890123456789.5}',
    b'{"a": "id 1234567890123456789012 in text"}', b'{"a": ' + b"9" * 5000 + b'}',
    b'{"a": "\\ud800"}', b'{"a": "\\udfff\\ud800"}', b'{"a": "\\ud83d\\ude00"}', b'{"a": "x\\u0000y"}',
    b'{"a": 1, "a": 2}', b'{"a": "\xff"}', b'{"a": "\xed\xa0\x80"}', b'{"a": "\xc0\xaf"}',
    b'{"a": 1}\x0c', b'{"a": 1}\x0b', b'{"a": 1}\xc2\x85', b'\xef\xbb\xbf\xef\xbb\xbf{"a": 1}',
    b'{"a": 1} x', b'{"a": 1,}', b'{"a": "tab\there"}', b'[1, 2]', b'"text"', b'3', b'null',
    b'[' * 150 + b']' * 150, b'{"a":' + b'[' * 250 + b']' * 250 + b'}', b'[' * 2000 + b']' * 2000,
    b'{"a": 0.1, "b": 5e-324, "c": -0.0, "d": 1E5, "e": 1.7976931348623157e308}',
    b'{"messages": [{"role": "user", "content": "\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80"}]}',
    b'{"a": 1}{"b": 2}', b'{"a": tru}', b'\x00',
    b'{"a": 1, "b": 2, "a": 3}', b'{"a": 1}\r', b'  {"a": {"a": 1, "a": [2]}} ',
]


def _read(path, switch, off):
    switch(off)
    # repr shows values, types and key order (a duplicate key keeps its first place in both)
    return [(repr(r.data), r.source, r.error) for r in read_records(str(path))]


def test_hostile_lines_read_the_same_with_and_without_orjson(tmp_path, without_orjson):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b"\n".join(HOSTILE) + b"\n")
    fast, slow = _read(path, without_orjson, False), _read(path, without_orjson, True)
    assert fast == slow
    assert len(fast) == len(HOSTILE)
    # the stdlib's own answers stand where orjson would differ
    by_line = {src.line: (data, error) for data, src, error in slow}
    assert by_line[1] == (repr({"a": math.nan}), None)
    assert by_line[6] == ("{'a': 12345678901234567890123}", None)  # orjson alone reads a float
    assert by_line[14] == (repr({"a": "\ud800"}), None)
    assert by_line[19][1].startswith("not valid UTF-8")


def test_generated_chat_lines_read_the_same(tmp_path, without_orjson):
    import random

    rng = random.Random(5)
    lines = []
    for i in range(2000):
        text = "".join(chr(rng.choice([rng.randint(32, 126), rng.randint(0x80, 0x2FFF), 0x1F600, 0x2028, 10, 9]))
                       for _ in range(rng.randint(1, 40)))
        record = {"messages": [{"role": "user", "content": text}, {"role": "assistant", "content": str(i)}],
                  "score": rng.choice([1, 0.5, 1e-7, 10 ** rng.randint(1, 25), True, None])}
        lines.append(json.dumps(record, ensure_ascii=rng.random() < 0.5))
    path = tmp_path / "g.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _read(path, without_orjson, False) == _read(path, without_orjson, True)


def test_every_code_point_is_written_as_the_stdlib_writes_it():
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(points), 4096):
        text = "".join(map(chr, points[start:start + 4096])) + '"\\/'
        record = PlainChatRecord(messages=[{"role": "user", "content": text}])
        assert orjson.dumps(record) == encode(record).encode()


def _records():
    plain = [(PlainChatRecord(messages=[{"role": "system", "content": "s"}, {"role": "user", "content": f"q{i} é"},
                                        {"role": "assistant", "content": "a\n\"b\"\t\u2028"}]), None)
             for i in range(50)]
    other = [({"messages": [{"role": "user", "content": "x"}], "tools": [{"minimum": 1e-05, "maximum": 1e16,
                                                                            "n": 2 ** 70, "nan": float("nan")}]}, None)]
    return plain[:25] + other + plain[25:]


def test_upload_files_are_the_same_bytes(without_orjson):
    records = _records()
    without_orjson(False)
    fast = jsonl(records)
    without_orjson(True)
    slow = jsonl(records)
    assert fast == slow
    assert slow == "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n"
                           for r, _ in records).encode()
    assert jsonl([]) == b""


def test_a_lone_surrogate_fails_the_upload_file_as_it_did(without_orjson):
    records = _records() + [(PlainChatRecord(messages=[{"role": "user", "content": "bad \ud800"}]), None)]
    for off in (False, True):
        without_orjson(off)
        with pytest.raises(UnicodeEncodeError):
            jsonl(records)


def test_no_orjson_setting_turns_it_off(monkeypatch):
    monkeypatch.setattr(fastjson, "_orjson", fastjson._UNSET)
    monkeypatch.setenv("FTX_NO_ORJSON", "1")
    assert fastjson.fast_loads() is None and fastjson.dumps_line() is None
    monkeypatch.setattr(fastjson, "_orjson", fastjson._UNSET)
    monkeypatch.delenv("FTX_NO_ORJSON")
    assert fastjson.fast_loads() is not None
