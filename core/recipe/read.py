"""Reading a recipe file's text: UTF-8 (with or without a byte-order mark) or, as YAML allows,
UTF-16/UTF-32 with a byte-order mark; anything else is one clear error with its line."""

from __future__ import annotations

import codecs
from pathlib import Path

from ..errors import RecipeError

MAX_BYTES = 1 << 20  # a recipe is a few KB; a larger file is not one

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def decode_recipe(raw: bytes, file: str) -> str:
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1 if encoding == "utf-8" else None
        raise RecipeError(f"not {encoding.upper().removesuffix('-SIG')} text (byte {raw[exc.start]:#04x}); "
                          "save the recipe as UTF-8", file=file, line=line) from None


def read_recipe_text(path: Path, file: str) -> str:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise RecipeError("is a folder, not a recipe file", file=file) from None
    except OSError as exc:
        raise RecipeError(f"cannot read the recipe: {exc.strerror or exc}", file=file) from None
    if len(raw) > MAX_BYTES:
        raise RecipeError(f"larger than {MAX_BYTES >> 20} MiB: not a recipe", file=file)
    return decode_recipe(raw, file)
