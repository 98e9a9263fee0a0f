"""OpenAI's training metrics in ftx's words: the result CSV and metrics events -> metrics rows.

ftx's rows use the keys local runs write to ``metrics.jsonl`` (step, epoch, loss, eval_loss)
plus OpenAI's token accuracies (token_accuracy, eval_token_accuracy).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
from typing import Any

# OpenAI column / field -> ftx key. ``full_valid_*`` (the whole validation set, at epoch ends)
# wins over ``valid_*`` (one validation batch) when both are present.
_KEYS = {
    "step": "step",
    "train_loss": "loss",
    "train_accuracy": "token_accuracy",
    "train_mean_token_accuracy": "token_accuracy",
    "valid_loss": "eval_loss",
    "valid_mean_token_accuracy": "eval_token_accuracy",
    "total_steps": "total_steps",
}
_FULL = {"full_valid_loss": "eval_loss", "full_valid_mean_token_accuracy": "eval_token_accuracy"}


def _number(value: Any) -> float | int | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if number != number:  # NaN: OpenAI leaves validation columns empty or NaN between evaluations
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def normalise_metrics(data: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI metrics mapping (event data, checkpoint metrics, CSV row) in ftx keys."""
    out: dict[str, Any] = {}
    for source, key in _KEYS.items():
        value = _number(data.get(source))
        if value is not None:
            out[key] = value
    for source, key in _FULL.items():
        value = _number(data.get(source))
        if value is not None:
            out[key] = value
    if "step" in out:
        out["step"] = int(out["step"])
    return out


def decode(content: bytes) -> str:
    """Result files come base64-encoded from the API; accept plain CSV too."""
    text = content.decode("utf-8", errors="replace").strip()
    if text.startswith("step"):
        return text
    try:
        decoded = base64.b64decode(text, validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return text
    return decoded


def metrics_rows(content: bytes, n_epochs: Any = None) -> list[dict[str, Any]]:
    """Rows of a result CSV, sorted by step, with ``epoch`` filled in when the epoch count is known."""
    rows = []
    for raw in csv.DictReader(io.StringIO(decode(content))):
        row = normalise_metrics({k.strip(): v for k, v in raw.items() if k})
        if "step" in row:
            rows.append(row)
    rows.sort(key=lambda r: r["step"])
    if rows and isinstance(n_epochs, int) and n_epochs > 0:
        total = rows[-1]["step"]
        for row in rows:
            row["epoch"] = round(row["step"] * n_epochs / total, 4)
    return rows
