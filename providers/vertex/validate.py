"""Vertex AI's rules for Gemini tuning files, checked on the exact records ftx would upload.

Every problem names the file:line the record came from, so users fix their own data, not
ftx's converted copy. Rules (Vertex AI "Prepare supervised tuning data" / "Prepare preference
tuning data" for Gemini, and the model's limits in ``models.yaml``):

* only text parts; every turn has a non-empty ``parts`` list of non-empty ``text``;
* roles are ``user`` and ``model`` and alternate, starting with ``user``; supervised
  examples end with a ``model`` turn, preference prompts end with a ``user`` turn;
* a preference example has exactly two completions, one single model turn scored 1
  (preferred) and one scored 0 (dispreferred), and they differ;
* an example's tokens (prompt + the longer completion for preference pairs) stay within the
  model's per-example limit; tokens are counted as ceil(characters / 4), as the estimate does,
  because Gemini's tokenizer is not available offline;
* at least one training example; at most ``max_validation_examples`` validation examples;
  the training file within ``max_train_file_gb``.
"""

from __future__ import annotations

import math
from typing import Any

from ftx.errors import Problem
from ftx.preflight import Checked, RecordCheck

SFT_KEYS = {"contents", "systemInstruction", "system_instruction"}
PREFERENCE_KEYS = {"contents", "system_instruction", "systemInstruction", "completions"}


def _parts(value: Any, where: str, rec: RecordCheck) -> str:
    """The concatenated text of a ``parts`` list, reporting what Vertex would reject."""
    if not isinstance(value, list) or not value:
        rec.bad(where, "parts must be a non-empty list")
        return ""
    text = []
    for i, part in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(part, dict) or set(part) != {"text"}:
            rec.bad(at, "only text parts are supported: a part must be {\"text\": ...}")
        elif not isinstance(part["text"], str) or not part["text"].strip():
            rec.bad(f"{at}.text", "text is empty")
        else:
            text.append(part["text"])
    return "".join(text)


def _system(record: dict[str, Any], rec: RecordCheck) -> str:
    for key in ("systemInstruction", "system_instruction"):
        if key in record:
            value = record[key]
            if not isinstance(value, dict):
                rec.bad(key, "the system instruction must be an object with parts")
                return ""
            return _parts(value.get("parts"), f"{key}.parts", rec)
    return ""


def _contents(value: Any, rec: RecordCheck, last: str) -> str:
    if not isinstance(value, list) or not value:
        rec.bad("contents", "contents must be a non-empty list of turns")
        return ""
    text, previous = [], None
    for i, turn in enumerate(value):
        at = f"contents[{i}]"
        if not isinstance(turn, dict):
            rec.bad(at, "a turn must be an object with role and parts")
            continue
        role = turn.get("role")
        if role not in ("user", "model"):
            rec.bad(f"{at}.role", f"role must be user or model, not {role!r}")
        elif i == 0 and role != "user":
            rec.bad(f"{at}.role", "the first turn must be from user")
        elif role == previous:
            rec.bad(f"{at}.role", f"roles must alternate between user and model; two {role} turns follow each other")
        previous = role
        text.append(_parts(turn.get("parts"), f"{at}.parts", rec))
    final = value[-1].get("role") if isinstance(value[-1], dict) else None
    if final in ("user", "model") and final != last:
        rec.bad(f"contents[{len(value) - 1}].role", f"the last turn must be from {last}, not {final}"
                + (" (the prompt of a preference pair ends with the user's turn)" if last == "user" else ""))
    return "".join(text)


def _completions(value: Any, rec: RecordCheck) -> list[str]:
    if not isinstance(value, list) or len(value) != 2:
        rec.bad("completions", "completions must be a pair: one preferred (score 1), one dispreferred (score 0)")
        return []
    texts, scores = [], []
    for i, item in enumerate(value):
        at = f"completions[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("completion"), dict):
            rec.bad(at, "a completion must be {score, completion: {role: model, parts}}")
            continue
        scores.append(item.get("score"))
        if item["completion"].get("role") != "model":
            rec.bad(f"{at}.completion.role", "a completion is a single model turn")
        texts.append(_parts(item["completion"].get("parts"), f"{at}.completion.parts", rec))
    if sorted(s for s in scores if isinstance(s, (int, float))) != [0, 1]:
        rec.bad("completions", f"scores must be one 1 (preferred) and one 0 (dispreferred), not {scores}")
    if len(texts) == 2 and texts[0] == texts[1] and texts[0]:
        rec.bad("completions", "the preferred and dispreferred completions are identical: nothing to learn")
    return texts


def tokens_of(text: str, chars_per_token: float) -> int:
    return math.ceil(len(text) / chars_per_token)


def check_records(records: list[tuple[dict[str, Any], Any]], objective: str, *, file: str,
                  limit: int | None, model: str, chars_per_token: float = 4.0) -> Checked:
    """Check converted records ``(record, source)`` (``source`` has ``.file``/``.line``)."""
    out = Checked()
    preference = objective == "dpo"
    allowed = PREFERENCE_KEYS if preference else SFT_KEYS
    for record, source in records:
        rec = RecordCheck(getattr(source, "file", file), getattr(source, "line", None), out.problems)
        for key in sorted(set(record) - allowed):
            rec.bad(key, f"Vertex tuning data does not accept the key {key!r}")
        prompt = _system(record, rec) + _contents(record.get("contents"), rec, "user" if preference else "model")
        completions = _completions(record.get("completions"), rec) if preference else []
        if not rec.ok:
            continue
        tokens = tokens_of(prompt + max(completions, key=len, default=""), chars_per_token)
        if limit is not None and tokens > limit:
            rec.bad(None, f"example is about {tokens:,} tokens (characters/{chars_per_token:g}); {model} takes at "
                          f"most {limit:,} per training example")
            continue
        out.tokens.append(tokens)
    return out


def check_sizes(train: list, validation: list, train_bytes: int, entry: dict[str, Any], *, train_file: str,
                validation_file: str, model: str) -> list[Problem]:
    """File-level limits: a non-empty training set, the validation cap, the training file size."""
    problems = []
    if not train:
        problems.append(Problem("Vertex needs at least one training example; none are left to upload", file=train_file))
    cap = entry.get("max_validation_examples")
    if cap and len(validation) > int(cap):
        problems.append(Problem(f"Vertex takes at most {int(cap):,} validation examples; this run has "
                                f"{len(validation):,} (use a smaller data.split or validation file)",
                                file=validation_file))
    max_gb = entry.get("max_train_file_gb")
    if max_gb and train_bytes > float(max_gb) * 1e9:
        problems.append(Problem(f"the training file would be {train_bytes / 1e9:.2f} GB; {model} takes at most "
                                f"{float(max_gb):g} GB", file=train_file))
    return problems
