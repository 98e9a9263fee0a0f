"""Bounds on one record, so a hostile or broken data file is a clear error, never a crash.

Python's ``json`` raises ``ValueError`` (not ``JSONDecodeError``) for integers over 4,300 digits
and ``RecursionError`` for nesting deeper than the interpreter's stack; a 200 MB single line
would be parsed into several GB of objects. Every reader decodes through :func:`loads` and
refuses records over :data:`MAX_RECORD_BYTES`.
"""

from __future__ import annotations

import json
import os
from typing import Any

# One example of a fine-tuning set is at most a few hundred KB (a long conversation with tools);
# FTX_MAX_RECORD_MB raises the bound for data that really needs it.
MAX_RECORD_BYTES = int(float(os.environ.get("FTX_MAX_RECORD_MB", "16")) * (1 << 20))
# Deeper than any real record (messages -> content parts -> tool arguments ...).
MAX_DEPTH = 200


def too_large(size: int) -> str:
    return (f"record is {size / (1 << 20):.1f} MiB, over the {MAX_RECORD_BYTES >> 20} MiB limit per record "
            "(FTX_MAX_RECORD_MB raises it)")


def _depth(text: str) -> int:
    """Bracket nesting of JSON text (brackets inside strings included: an upper bound)."""
    depth = top = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            top = max(top, depth)
        elif ch in "]}":
            depth -= 1
    return top


def check_text(text: str) -> str | None:
    """Why this JSON text must not be decoded (too large, too deep), or None."""
    if len(text) > MAX_RECORD_BYTES:
        return too_large(len(text.encode("utf-8", "surrogatepass")))
    if text.count("[") + text.count("{") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        return f"invalid JSON: nested more than {MAX_DEPTH} levels deep"
    return None


def loads(text: str) -> tuple[Any, str | None]:
    """(value, None), or (None, why) for text that is not JSON or breaks a limit."""
    why = check_text(text)
    if why:
        return None, why
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} (column {exc.colno})"
    except RecursionError:
        return None, "invalid JSON: nested too deeply"
    except ValueError as exc:  # e.g. an integer with more than 4,300 digits
        return None, f"invalid JSON: {str(exc).split(';')[0]}"


def raw_decode(decoder: json.JSONDecoder, text: str, pos: int) -> tuple[Any, int]:
    """``decoder.raw_decode`` with the interpreter's own limits turned into ``JSONDecodeError``."""
    try:
        return decoder.raw_decode(text, pos)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, pos) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc).split(";")[0], text, pos) from None
