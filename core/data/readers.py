"""Streaming readers: turn a data file into records (dicts) located by file and line.

Every reader streams, so memory stays flat however large the file is. A record that cannot
be read (bad JSON, bad bytes, not an object) is yielded with ``error`` set instead of raising,
so validation can report every bad line in one pass.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from ..errors import DataError
from ..example import Source
from .limits import MAX_RECORD_BYTES, loads, raw_decode, too_large

SUPPORTED = (".jsonl, .ndjson, .json (array of objects), .csv, .parquet, "
             "a directory written by datasets.save_to_disk, or hf:NAME[:SPLIT]")
JSON_CHUNK = 1 << 16
_SPACE = re.compile(r"[ \t\r\n]*")
_COMMA = re.compile(r"[ \t\r\n]*,[ \t\r\n]*")

# CSV cells under these keys may hold JSON (a conversation exported from a spreadsheet).
JSON_CELLS = frozenset({"messages", "conversations", "chosen", "rejected", "prompt", "completion",
                        "tools", "contents", "systemInstruction", "input", "preferred_output",
                        "non_preferred_output"})


@dataclass
class Record:
    """One raw record: ``data`` is the parsed object, or ``error`` says why it is unreadable."""

    data: Any
    source: Source
    error: str | None = None


def read_records(path: str) -> Iterator[Record]:
    """Stream the records of ``path``, dispatching on its extension (or ``hf:`` prefix).

    Raises :class:`DataError` for a missing file or an unsupported kind of file; problems
    inside the file come back as records with ``error`` set.
    """
    path = str(path)
    if path.startswith("hf:"):
        return _read_hub(path)
    p = Path(path)
    if p.is_dir():
        if any((p / marker).exists() for marker in ("dataset_info.json", "state.json", "dataset_dict.json")):
            return _read_saved_dataset(path)
        raise DataError(f"{path} is a directory, not one written by datasets.save_to_disk "
                        f"(supported: {SUPPORTED})")
    if not p.exists():
        raise DataError(f"{path}: no such file (supported: {SUPPORTED})")
    suffix = p.suffix.lower()
    reader = {".jsonl": _read_jsonl, ".ndjson": _read_jsonl, ".json": _read_json,
              ".csv": _read_csv, ".parquet": _read_parquet}.get(suffix)
    if reader is None:
        raise DataError(f"{path}: unsupported kind of file {suffix or '(no extension)'!r} "
                        f"(supported: {SUPPORTED})")
    return reader(path)


_TYPE_NAMES = ((bool, "a boolean"), ((int, float), "a number"), (str, "a string"), (list, "a list"),
               (dict, "an object"))


def type_name(value: Any) -> str:
    """A JSON-ish name for the type of ``value``, for messages ("a list", "null"...)."""
    if value is None:
        return "null"
    return next((name for kind, name in _TYPE_NAMES if isinstance(value, kind)), type(value).__name__)


def _record(value: Any, source: Source) -> Record:
    if isinstance(value, dict):
        return Record(value, source)
    return Record(value, source, f"record is {type_name(value)}, not an object")


# -- JSON Lines ----------------------------------------------------------------------------

def _read_jsonl(path: str) -> Iterator[Record]:
    with open(path, "rb") as handle:
        yield from _jsonl_lines(path, _bounded_lines(handle), 1)


_OVERSIZE = b"\x00ftx-oversize\x00"


def _bounded_lines(handle) -> Iterator[bytes]:
    """The file's lines, each read with a bound: a line over the record limit is skipped in
    chunks (never held whole) and stands as a marker that reports its size."""
    from .limits import MAX_RECORD_BYTES

    while True:
        line = handle.readline(MAX_RECORD_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n"):
            size = len(line)
            while True:
                rest = handle.readline(1 << 20)
                size += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            yield _OVERSIZE + str(size).encode()
            continue
        yield line


def _jsonl_lines(path: str, lines: Iterable[bytes], first_line: int) -> Iterator[Record]:
    from .fastjson import fast_loads

    fast = fast_loads()  # orjson where its answer is the stdlib's (ftx.data.fastjson), else None
    for number, raw in enumerate(lines, first_line):
        # A BOM may open the file, or any line of files joined with `cat`.
        raw = raw.removeprefix(codecs.BOM_UTF8)
        if not raw.strip():
            continue
        source = Source(path, number)
        if fast is not None and not raw.startswith(_OVERSIZE):
            try:
                value = fast(raw)
            except ValueError:
                pass  # the standard path below decides, with its own messages
            else:
                yield Record(value, source) if type(value) is dict else _record(value, source)
                continue
        if raw.startswith(_OVERSIZE):
            from .limits import too_large

            yield Record(None, source, too_large(int(raw[len(_OVERSIZE):])))
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Record(None, source, f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}")
            continue
        from .limits import loads

        value, error = loads(text.rstrip())
        if error is not None:
            yield Record(None, source, error)
            continue
        yield _record(value, source)


# -- JSON array ----------------------------------------------------------------------------

class _TextBuffer:
    """Decoded text of a file read in chunks, with 1-based line numbers for positions.

    Consumed text is dropped so memory is bounded by the largest record, not the file.
    """

    def __init__(self, handle) -> None:
        self.handle = handle
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.text = ""
        self.eof = False
        self.error: str | None = None
        # Line numbers are counted incrementally from the last position asked about.
        self._pos = 0
        self._line = 1

    def more(self, size: int | None = None) -> bool:
        """Append the next chunk; False at end of file (or at undecodable bytes)."""
        if self.eof:
            return False
        # read1: one read of what is there, so a pipe or a slow disk yields records as they come.
        chunk = self.handle.read1(size or JSON_CHUNK)
        try:
            self.text += self.decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            # Keep the good text before the bad byte so its records still come out.
            self.text += exc.object[:exc.start].decode("utf-8", errors="replace")
            self.error = (f"not valid UTF-8: byte 0x{exc.object[exc.start]:02x} "
                          f"at column {self.column_of(len(self.text))}")
            self.eof = True
            return False
        if not chunk:
            self.eof = True
        return bool(chunk)

    def line_of(self, pos: int) -> int:
        if pos >= self._pos:
            self._line += self.text.count("\n", self._pos, pos)
        else:
            self._line -= self.text.count("\n", pos, self._pos)
        self._pos = pos
        return self._line

    def column_of(self, pos: int) -> int:
        return pos - (self.text.rfind("\n", 0, pos) + 1) + 1

    def drop(self, pos: int) -> int:
        """Forget text before ``pos`` once enough has piled up; return the new position."""
        if pos < JSON_CHUNK:
            return pos
        self.line_of(pos)
        self._pos = 0
        self.text = self.text[pos:]
        return 0

    def skip_space(self, pos: int) -> int:
        """Position of the next non-whitespace character, reading more as needed."""
        while True:
            pos = _SPACE.match(self.text, pos).end()
            if pos < len(self.text) or not self.more():
                return pos


def _read_json(path: str) -> Iterator[Record]:
    decoder = json.JSONDecoder()
    with open(path, "rb") as handle:
        buf = _TextBuffer(handle)
        pos = buf.skip_space(0)
        if pos >= len(buf.text):
            if buf.error:
                yield Record(None, Source(path, buf.line_of(pos)), buf.error)
            return
        # `datasets.Dataset.to_json` writes JSON Lines under a .json name: read it as such
        # when the first line holds a whole object.
        if buf.text[pos] == "{" and _first_line_is_object(buf, pos):
            handle.seek(0)
            yield from _jsonl_lines(path, handle, 1)
            return
        if buf.text[pos] != "[":
            yield Record(None, Source(path, buf.line_of(pos)),
                         "a .json file must hold an array of objects (or one object per line)")
            return
        pos = buf.skip_space(pos + 1)
        if pos < len(buf.text) and buf.text[pos] == "]":
            yield from _json_tail(path, buf, pos + 1)
            return
        while True:  # pos is at the start of an element
            if pos >= JSON_CHUNK:
                pos = buf.drop(pos)
            try:  # fast path: the element lies whole inside the buffer
                value, end = raw_decode(decoder, buf.text, pos)
                whole = end < len(buf.text)
            except json.JSONDecodeError:
                whole = False
            if not whole:
                value, end, error = _decode_element(decoder, buf, pos)
                if error is not None:
                    yield Record(None, Source(path, error[0]), error[1])
                    return  # the rest of the array cannot be located reliably
            if end - pos > MAX_RECORD_BYTES:
                yield Record(None, Source(path, buf.line_of(pos)), too_large(end - pos))
            else:
                yield _record(value, Source(path, buf.line_of(pos)))
            comma = _COMMA.match(buf.text, end)
            if comma is not None and comma.end() < len(buf.text) and buf.text[comma.end()] != "]":
                pos = comma.end()
                continue
            pos = buf.skip_space(end)
            if pos < len(buf.text) and buf.text[pos] == ",":
                pos = buf.skip_space(pos + 1)
                if pos < len(buf.text) and buf.text[pos] == "]":
                    yield Record(None, Source(path, buf.line_of(pos)),
                                 f"invalid JSON: trailing comma before ']' (column {buf.column_of(pos)})")
                    return
                continue
            if pos < len(buf.text) and buf.text[pos] == "]":
                yield from _json_tail(path, buf, pos + 1)
                return
            yield Record(None, Source(path, buf.line_of(pos)), _unexpected(buf, pos, "',' or ']'"))
            return


def _first_line_is_object(buf: _TextBuffer, pos: int) -> bool:
    while "\n" not in buf.text[pos:] and len(buf.text) - pos <= MAX_RECORD_BYTES and buf.more():
        pass
    end = buf.text.find("\n", pos)
    value, error = loads(buf.text[pos:end if end >= 0 else None])
    return error is None and isinstance(value, dict)


def _decode_element(decoder: json.JSONDecoder, buf: _TextBuffer, pos: int):
    """Decode the array element at ``pos``: (value, end, None) or (None, 0, (line, error))."""
    if pos >= len(buf.text):
        return None, 0, (buf.line_of(pos), _unexpected(buf, pos, "a value"))
    while True:
        if len(buf.text) - pos > MAX_RECORD_BYTES:
            return None, 0, (buf.line_of(pos), too_large(len(buf.text) - pos))
        try:
            value, end = raw_decode(decoder, buf.text, pos)
        except json.JSONDecodeError as exc:
            # An error near the end of the buffer may only mean the element is cut by the chunk.
            near_end = exc.pos >= len(buf.text) - 16 or exc.msg.startswith("Unterminated string")
            if near_end and buf.more(max(JSON_CHUNK, len(buf.text) - pos)):
                continue
            if buf.error:
                return None, 0, (buf.line_of(len(buf.text)), buf.error)
            return None, 0, (buf.line_of(exc.pos), f"invalid JSON: {exc.msg} (column {buf.column_of(exc.pos)})")
        # A scalar ending exactly at the buffer's end may continue in the next chunk.
        if end >= len(buf.text) and buf.more():
            continue
        return value, end, None


def _json_tail(path: str, buf: _TextBuffer, pos: int) -> Iterator[Record]:
    pos = buf.skip_space(pos)
    if pos < len(buf.text):
        yield Record(None, Source(path, buf.line_of(pos)),
                     f"invalid JSON: extra data after the array (column {buf.column_of(pos)})")
    elif buf.error:
        yield Record(None, Source(path, buf.line_of(pos)), buf.error)


def _unexpected(buf: _TextBuffer, pos: int, wanted: str) -> str:
    if buf.error:
        return buf.error
    if pos >= len(buf.text):
        return f"invalid JSON: file ends before the array is closed (expected {wanted})"
    return f"invalid JSON: expected {wanted}, found {buf.text[pos]!r} (column {buf.column_of(pos)})"


# -- CSV ----------------------------------------------------------------------------------

def _read_csv(path: str) -> Iterator[Record]:
    csv.field_size_limit(MAX_RECORD_BYTES)  # conversations in one cell can be large, within bounds
    bad_bytes: dict[int, str] = {}
    with open(path, "rb") as handle:
        lines = _decoded_lines(handle, bad_bytes)
        reader = csv.reader(lines, strict=True)  # an unterminated quote is an error, not fewer records
        header: list[str] | None = None
        previous = 0
        while True:
            first = previous + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield Record(None, Source(path, first), f"invalid CSV: {exc}")
                return
            previous = reader.line_num
            source = Source(path, first)
            spanned = [bad_bytes.pop(n) for n in range(first, previous + 1) if n in bad_bytes]
            if header is None:
                header = [h.strip() for h in row]
            elif spanned:
                yield Record(None, source, spanned[0])
            elif not row or (len(row) == 1 and not row[0].strip() and len(header) > 1):
                continue  # blank line
            elif len(row) != len(header):
                yield Record(None, source, f"row has {len(row)} fields, the header has {len(header)}")
            else:
                yield Record({k: _cell(k, v) for k, v in zip(header, row)}, source)


def _decoded_lines(handle, bad_bytes: dict[int, str]) -> Iterator[str]:
    """Lines of a binary file as text; undecodable lines are noted by number and replaced."""
    for number, raw in enumerate(handle, 1):
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad_bytes[number] = f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}"
            yield raw.decode("utf-8", errors="replace")


def _cell(key: str, value: str) -> Any:
    """Decode a cell holding a JSON conversation (a list of objects, or a message container)."""
    stripped = value.strip()
    if key not in JSON_CELLS or not stripped or stripped[0] not in "[{":
        return value
    decoded, error = loads(stripped)
    if error is not None:
        return value
    if isinstance(decoded, list) and decoded and all(isinstance(x, dict) for x in decoded):
        return decoded
    if isinstance(decoded, dict) and ("messages" in decoded or "parts" in decoded):
        return decoded
    return value


# -- Parquet and Hugging Face datasets ------------------------------------------------------

def _without_nulls(value: Any) -> Any:
    """Columnar formats cannot leave a key out: a null there means "absent"."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _read_parquet(path: str) -> Iterator[Record]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise DataError(f"{path}: reading Parquet needs pyarrow",
                        hint="pip install 'ftx[data]'") from exc
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for unreadable files
        raise DataError(f"{path}: not a readable Parquet file: {exc}") from exc
    row = 0
    with parquet:
        for batch in parquet.iter_batches(batch_size=1024):
            for value in batch.to_pylist():
                row += 1
                yield Record(_without_nulls(value), Source(path, row))


def _read_saved_dataset(path: str) -> Iterator[Record]:
    datasets = _import_datasets(path)
    try:
        loaded = datasets.load_from_disk(path)
    except Exception as exc:
        raise DataError(f"{path}: cannot load the saved dataset: {exc}") from exc
    if isinstance(loaded, datasets.DatasetDict):
        if "train" not in loaded:
            raise DataError(f"{path}: the saved dataset has splits {', '.join(loaded)} but no 'train'",
                            hint="save the split you want with Dataset.save_to_disk")
        loaded = loaded["train"]
    yield from _dataset_rows(loaded, path)


def _read_hub(path: str) -> Iterator[Record]:
    name, _, split = path[len("hf:"):].partition(":")
    if not name:
        raise DataError(f"{path}: expected hf:NAME[:SPLIT] (supported: {SUPPORTED})")
    datasets = _import_datasets(path)
    try:
        loaded = datasets.load_dataset(name, split=split or "train")
    except Exception as exc:
        raise DataError(f"{path}: cannot load dataset {name!r} split {split or 'train'!r}: {exc}") from exc
    yield from _dataset_rows(loaded, path)


def _dataset_rows(dataset: Any, label: str) -> Iterator[Record]:
    for index, value in enumerate(dataset):
        yield _record(_without_nulls(value), Source(label, index + 1))


def _import_datasets(path: str):
    try:
        import datasets
    except ImportError as exc:
        raise DataError(f"{path}: reading Hugging Face datasets needs the datasets package",
                        hint="pip install 'ftx[local]'") from exc
    return datasets

