"""The shared ``prepare`` of hosted backends: from a recipe to the exact request and files. Offline.

Every hosted backend does the same steps; only a few are its own, and those are hooks on
:class:`ftx.hosted.HostedBackend`:

1. load the recipe's splits (:func:`ftx.data.plan.load_splits`; no validation set with
   ``eval.strategy: no``);
2. ``convert_records``: each example as the provider's record, keeping its file:line;
3. ``check_records`` per file and ``file_problems`` over both: every problem at once, at the
   user's file:line, before anything is uploaded (:class:`ftx.errors.DataError`);
4. the upload files (JSONL, named by content hash: ``UploadFile.build``);
5. ``build_request``: the create request with ``{"$upload": ROLE}`` placeholders;
6. the idempotency key from backend, model, request, data **and target** (``key_target``), put
   into the request by ``tag_request``;
7. ``describe_job``: lines for ``--dry-run``.

``ftx run --dry-run`` shows what this returns and a launch sends exactly it.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import DataError, Problem
from ..formats import CannotConvert, PlainChatRecord
from .contract import PreparedJob, UploadFile, client_key_for


_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def jsonl(records: list[tuple[dict[str, Any], Any]]) -> bytes:
    """Records as compact JSON lines (what every provider's tuning upload takes)."""
    from ..data.fastjson import dumps_line

    encode = _COMPACT.encode  # one encoder for all records (json.dumps with options builds one per call)
    dump = dumps_line()
    if dump is None or not any(type(r) is PlainChatRecord for r, _ in records):
        return "".join([encode(r) + "\n" for r, _ in records]).encode()
    out = bytearray()  # each line added as it is made: orjson's bytes hold ~4 KB each while alive
    try:
        for r, _ in records:
            out += dump(r) if type(r) is PlainChatRecord else encode(r).encode()
            out += b"\n"
    except (TypeError, UnicodeEncodeError):  # e.g. a lone surrogate: the stdlib's way, and its error
        return "".join([encode(r) + "\n" for r, _ in records]).encode()
    return bytes(out)


def dump_records(examples: list, format_name: str, problems: list[Problem],
                 label: str = "the provider") -> list[tuple[dict[str, Any], Any]]:
    """Each example written by the data format ``format_name`` (its ``dump``), with its source."""
    from ..components import get_format

    fmt = get_format(format_name)
    dump = fmt.dump
    try:  # the usual case, every example writable: one comprehension, no handler per example
        return [(dump(example), example.source) for example in examples]
    except CannotConvert:
        pass  # again one by one, each that cannot be written reported (a dump changes nothing)
    out: list[tuple[dict[str, Any], Any]] = []
    for example in examples:
        dump_into(out, fmt, example, problems, label)
    return out


def dump_into(out: list, fmt: Any, example: Any, problems: list[Problem], label: str = "the provider") -> None:
    """Append ``(fmt.dump(example), example.source)`` to ``out``, or the reason it cannot be
    written to ``problems``."""
    try:
        out.append((fmt.dump(example), example.source))
    except CannotConvert as exc:
        src = example.source
        problems.append(Problem(f"cannot be written as {label} {fmt.name} data: {exc}",
                                file=getattr(src, "file", None), line=getattr(src, "line", None)))


def character_check(records: list[tuple[dict[str, Any], Any]], chars_per_token: float = 4.0) -> Any:
    """Nothing refused; each record counts ceil(characters of its JSON / ``chars_per_token``)."""
    from ..preflight import Checked

    out = Checked()
    out.tokens = [math.ceil(len(json.dumps(r, ensure_ascii=False)) / chars_per_token) for r, _ in records]
    return out


def prepare_job(backend: Any, recipe: Any) -> PreparedJob:
    """The template (see the module docstring), driven by ``backend``'s hooks."""
    from ..bulk import bulk_objects

    with bulk_objects():  # a record per example, all kept: nothing for the cyclic collector to find
        return _prepare_job(backend, recipe)


def _prepare_job(backend: Any, recipe: Any) -> PreparedJob:
    from ..data.plan import load_splits

    problems: list[Problem] = []
    train, validation, split_info = load_splits(recipe, problems)
    if problems:
        raise DataError(problems=problems)
    if recipe.recipe.eval.strategy == "no":
        validation = []
    train_records = backend.convert_records(recipe, train, problems)
    val_records = backend.convert_records(recipe, validation, problems)
    spec = recipe.recipe.data
    from ..data.sources import train_file as first_train_file

    train_file = first_train_file(recipe)
    val_file = recipe.data_path(spec.validation) if spec.validation else train_file
    checked = backend.check_records(recipe, train_records, file=train_file, role="train")
    val_checked = backend.check_records(recipe, val_records, file=val_file, role="validation")
    problems += checked.problems + val_checked.problems
    train_bytes = jsonl(train_records)
    problems += backend.file_problems(recipe, train_records, val_records, len(train_bytes))
    if problems:
        raise DataError(problems=problems)
    files = [UploadFile.build("train", train_bytes, len(train_records), checked.total_tokens)]
    if val_records:
        files.append(UploadFile.build("validation", jsonl(val_records), len(val_records), val_checked.total_tokens))
    model = recipe.model or ""
    untagged = backend.build_request(recipe, bool(val_records))
    key = client_key_for(backend.name, model, {"request": untagged, "target": backend.key_target(recipe)}, files)
    summary = backend.describe_job(recipe, checked, val_checked)
    if split_info.get("mix"):  # several sources: what each contributes, as the dry run shows it
        from ..data.mix import mix_compact

        summary["training examples per source"] = mix_compact(split_info["mix"])
    notes = list(getattr(checked, "notes", ()) or ())
    return PreparedJob(backend.name, model, backend.tag_request(untagged, key), files, key, summary, notes,
                       tagger=backend.tag_request, untagged=untagged)
