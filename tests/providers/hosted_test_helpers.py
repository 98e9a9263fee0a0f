"""Helpers every hosted provider's tests share (a plain module: tests/providers/conftest.py puts
this folder on the path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def runs_json(cli) -> list[dict[str, Any]]:
    r = cli("runs", "list", "--json")
    assert r.exit_code == 0, r
    return json.loads(r.stdout)


def chat_lines(n: int, start: int = 0) -> str:
    """``n`` chat examples (system, user, assistant) as JSONL, numbered from ``start``."""
    return "".join(json.dumps({"messages": [
        {"role": "system", "content": "You answer briefly."},
        {"role": "user", "content": f"What is {i} plus {i}?"},
        {"role": "assistant", "content": f"{i} plus {i} is {2 * i}."}]}) + "\n" for i in range(start, start + n))


def write_data(folder: Path, train: str | None = None, validation: str | None = None) -> str:
    """Write ``train.jsonl`` (default: 30 chat examples) and, if given, ``valid.jsonl`` to
    ``folder``; return the recipe's ``data:`` section naming them."""
    (folder / "train.jsonl").write_text(train if train is not None else chat_lines(30), encoding="utf-8")
    data = "data:\n  train: train.jsonl\n"
    if validation is not None:
        (folder / "valid.jsonl").write_text(validation, encoding="utf-8")
        data += "  validation: valid.jsonl\n"
    return data
