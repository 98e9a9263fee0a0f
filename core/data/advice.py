"""Warnings about a dataset, from fine-tuning practice. Each is one sentence a user can act on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .stats import DatasetStats

HOSTED_MINIMUM = 10  # OpenAI and Vertex reject fewer than 10 training examples
FEW = 100
MODEST = 500
DUPLICATE_SHARE = 0.01
MIN_VALIDATION = 20
MIN_VALIDATION_SHARE = 0.05
IMBALANCE = 10  # largest stratum / smallest stratum
NAMED = 5  # lines named in a warning


def name_lines(lines: Sequence[str], limit: int = NAMED, total: int | None = None) -> str:
    """``lines 3, 7 of a.jsonl`` (one file) or ``a.jsonl:3, b.jsonl:7``, then ``and N more``
    (of ``total``, when ``lines`` holds only the first few)."""
    shown = list(lines[:limit])
    parts = [line.rpartition(":") for line in shown]
    files = {f for f, sep, n in parts if sep and n.isdigit()}
    if len(files) == 1 and all(sep and n.isdigit() for _, sep, n in parts):
        text = f"{'line' if len(shown) == 1 else 'lines'} {', '.join(n for _, _, n in parts)} of {files.pop()}"
    else:
        text = ", ".join(shown)
    more = (total if total is not None else len(lines)) - len(shown)
    return f"{text} and {more:,} more" if more > 0 else text


def _size_warning(n: int, hosted_minimum: int | None) -> str | None:
    minimum = hosted_minimum or HOSTED_MINIMUM
    if n < minimum:
        return (f"Only {n} training example{'s' if n != 1 else ''}: hosted fine-tuning APIs require "
                f"at least {minimum}, and tasks with fewer than {FEW} quality examples rarely benefit.")
    if n < FEW:
        return (f"Only {n} training examples: tasks with fewer than {FEW} quality examples rarely "
                f"benefit from fine-tuning; practice is hundreds to thousands.")
    if n < MODEST:
        return (f"{n} training examples: quality beats quantity (500 excellent examples beat 5,000 "
                f"mediocre ones), so review them before adding more.")
    return None


def _duplicate_warning(stats: "DatasetStats", side: str) -> str | None:
    d = stats.duplicates
    if not stats.examples or d.share <= DUPLICATE_SHARE:
        return None
    group = (d.exact_groups or d.near_groups)[0]
    return (f"{d.share:.1%} of the {side} examples are duplicates ({d.exact_duplicates} exact, "
            f"{d.near_duplicates} near; e.g. {name_lines(group.lines, 3)}): they over-weight those "
            f"examples, so remove them.")


def _contradiction_warning(stats: "DatasetStats", side: str) -> str | None:
    d = stats.duplicates
    if not d.contradictions:
        return None
    n = d.contradictions
    group = d.contradiction_groups[0]
    return (f"{n:,} prompt{'s' if n != 1 else ''} of the {side} set {'have' if n != 1 else 'has'} different "
            f"answers in different examples (e.g. {name_lines(group.lines, 3)}): contradictory examples confuse "
            "the model, so keep one answer per prompt, or make the prompts say what differs.")


def _length_warning(stats: "DatasetStats", side: str) -> str | None:
    if not stats.over_max_length or stats.max_length is None:
        return None
    n = stats.over_max_length
    where = name_lines(stats.over_max_length_lines, total=n)
    if stats.max_length_estimated:
        return (f"About {n:,} {side} example{'s' if n != 1 else ''} may be longer than max_length "
                f"{stats.max_length} tokens and be truncated ({where}; estimated at 4 characters per "
                f"token, give a tokenizer for exact counts).")
    return (f"{n:,} {side} example{'s are' if n != 1 else ' is'} longer than max_length "
            f"{stats.max_length} {stats.unit} and will be truncated ({where}).")


def _strata_warning(stats: "DatasetStats") -> str | None:
    if not stats.strata or len(stats.strata) < 2:
        return None
    (big, most), (small, least) = max(stats.strata.items(), key=lambda kv: kv[1]), \
        min(stats.strata.items(), key=lambda kv: kv[1])
    if most < IMBALANCE * least:
        return None
    return (f"Strata of {stats.stratify_by} are strongly imbalanced ({small!r} has {least} "
            f"example{'s' if least != 1 else ''}, {big!r} has {most}): the model will mostly learn the "
            f"majority, so add or up-weight the rare ones.")


def _leak_lines(overlap: Any) -> list[str]:
    leaks = getattr(overlap, "leaks", overlap) or []
    return [getattr(leak, "line", leak) for leak in leaks]


def dataset_warnings(stats: "DatasetStats", validation_stats: "DatasetStats | None" = None,
                     overlap: Any = None, hosted_minimum: int | None = None) -> list[str]:
    """Warnings for a training set (and its validation set and their overlap, when known).

    ``hosted_minimum`` is the smallest training set the target API accepts (10 for OpenAI and
    Vertex); without it the same floor of 10 is quoted as the hosted APIs' rule.
    """
    if stats.examples == 0:
        return ["The training data holds no valid examples."]
    out = [_size_warning(stats.examples, hosted_minimum), _duplicate_warning(stats, "training"),
           _contradiction_warning(stats, "training")]
    for side, found in (("training", stats), ("validation", validation_stats)):
        note = found.duplicates.limit_note() if found is not None else None
        if note:
            out.append(f"Near duplicates of the {side} set: {note}; raise FTX_DEDUPE_MAX_MB to check them all.")
    leaked = _leak_lines(overlap)
    if leaked:
        out.append(f"{len(leaked)} validation example{'s duplicate' if len(leaked) != 1 else ' duplicates'} "
                   f"training data ({name_lines(leaked)}): validation loss will look better than "
                   f"the model is, so remove them from one side.")
    if validation_stats is None or validation_stats.examples == 0:
        out.append("No validation data: overfitting cannot be detected, so give a validation file "
                   "or let ftx split one off (data.split).")
    else:
        n_val = validation_stats.examples
        share = n_val / (n_val + stats.examples)
        if n_val < MIN_VALIDATION or share < MIN_VALIDATION_SHARE:
            out.append(f"The validation set is small ({n_val} examples, {share:.0%} of the data): "
                       f"its loss will be noisy, so aim for at least {MIN_VALIDATION} examples and "
                       f"{MIN_VALIDATION_SHARE:.0%}-20% of the data.")
        out.append(_duplicate_warning(validation_stats, "validation"))
        out.append(_contradiction_warning(validation_stats, "validation"))
    out.append(_length_warning(stats, "training"))
    if validation_stats is not None:
        out.append(_length_warning(validation_stats, "validation"))
    out.append(_strata_warning(stats))
    out.append("Measure the base model's zero-shot and few-shot baseline on a held-out test set: "
               "fine-tuning is worth it only if it beats that (set eval.test and ftx eval does it).")
    return [w for w in out if w]
