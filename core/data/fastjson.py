"""orjson where it gives exactly the standard library's result, the standard library everywhere else.

orjson (the optional ``ftx[fast]`` extra) reads and writes JSON several times faster than
``json``, but it does not accept everything ``json`` accepts, and it reads integers beyond 64
bits as floats. ftx uses it only where the result is provably the same, so data reads and
uploads are byte-for-byte and value-for-value what they are without it
(tests/data/test_fastjson.py compares both on every code point and on hostile inputs):

- reading (:func:`fast_loads`): a line is given to orjson only when it is within the record
  limits (size, bracket count: the stdlib path's checks cannot refuse it) and holds no run of 19
  digits (an integer orjson would turn into a float). Anything orjson refuses (NaN, Infinity,
  lone surrogate escapes, invalid UTF-8, trailing characters ``str.rstrip`` would remove...) is
  read again by the standard library, whose result or error message stands;
- writing (:func:`dumps_line`): only records of strings, 64-bit integers, booleans, None, lists
  and string-keyed dicts, with no floats (orjson and ``repr`` spell exponents differently); the
  caller says which records those are. orjson writes compact JSON with non-ASCII characters as
  they are, the same bytes as ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))``.

``FTX_NO_ORJSON=1`` turns orjson off (the same-run baseline of the benchmarks).
"""

from __future__ import annotations

import os
from typing import Any, Callable

from .limits import MAX_DEPTH, MAX_RECORD_BYTES

_DIGITS = b"0123456789"
_AS_ZERO = bytes.maketrans(_DIGITS, b"0" * 10)
_NINETEEN = b"0" * 19
_UNSET: Any = object()
_orjson: Any = _UNSET


def orjson_module() -> Any:
    """The orjson module, or None when it is not installed or ``FTX_NO_ORJSON`` is set."""
    global _orjson
    if _orjson is _UNSET:
        if os.environ.get("FTX_NO_ORJSON", "") not in ("", "0"):
            _orjson = None
        else:
            try:
                import orjson
            except ImportError:
                _orjson = None
            else:
                _orjson = orjson
    return _orjson


def fast_loads() -> Callable[[bytes], Any] | None:
    """A function reading one JSON Lines line (bytes) the way the standard library would, or
    raising ``ValueError`` where the caller must take the standard path instead; None without
    orjson."""
    orjson = orjson_module()
    if orjson is None:
        return None
    loads = orjson.loads

    def read(raw: bytes) -> Any:
        if len(raw) > MAX_RECORD_BYTES or raw.count(b"[") + raw.count(b"{") > MAX_DEPTH:
            raise ValueError("not for orjson")
        # 19 digits in a row may be an integer beyond 64 bits (a regex search costs more than
        # the parse; deleting digits is a C loop, and lines with 19 digits are rare).
        if len(raw) - len(raw.translate(None, _DIGITS)) >= 19 and _NINETEEN in raw.translate(_AS_ZERO):
            raise ValueError("not for orjson")
        try:
            return loads(raw)
        except Exception as exc:  # orjson.JSONDecodeError, and anything else: the stdlib decides
            raise ValueError(str(exc)) from None

    return read


def dumps_line() -> Callable[[Any], bytes] | None:
    """orjson's compact dump (bytes, no newline) for records of strings, ints within 64 bits,
    booleans, None, lists and dicts (no floats), or None without orjson. It raises
    ``TypeError`` on what orjson cannot write (a lone surrogate, a bigger int): the caller then
    writes that record with the standard library."""
    orjson = orjson_module()
    return orjson.dumps if orjson is not None else None
