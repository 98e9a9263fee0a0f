"""The data side of a run: validate the recipe's files, split, summarise, warn. Spends nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..bulk import bulk_objects
from ..errors import DataError, Problem


def _path_problem(recipe: Any, key: str, ref: str) -> Problem | None:
    from .recipe_checks import path_problem

    return path_problem(recipe, key, ref)


def _stratum(example: Any, field: str | None) -> Any:
    if not field:
        return None
    value: Any = example.meta
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def load_splits(recipe: Any, problems: list[Problem] | None = None) -> tuple[list, list, dict[str, Any]]:
    """Read the recipe's data into (train, validation) example lists plus a description of the
    split. Invalid records go to ``problems`` (or raise :class:`DataError` when it is None).

    One command asks for the data several times (data plan, backend plan, launch, estimate):
    the result is kept on the recipe and read again only if a file changed."""
    from .sources import data_refs

    spec = recipe.recipe.data
    refs = data_refs(recipe)
    key = (tuple((ref, *_stamp(ref)) for ref in refs), spec.format, spec.split, spec.seed, spec.stratify_by,
           spec.model_dump_json(include={"train", "replay", "mix"}))
    cache = getattr(recipe, "data_cache", None)
    if cache is None or cache.get("key") != key:
        with bulk_objects():
            cache = {"key": key, "value": _read_splits(recipe)}
        if hasattr(recipe, "data_cache"):
            recipe.data_cache = cache
    train, validation, info, found = cache["value"]
    if found:
        if problems is None:
            raise DataError(problems=list(found))
        problems.extend(found)
    return list(train), list(validation), dict(info)


def _stamp(ref: str) -> tuple[int, int]:
    try:
        st = Path(ref).stat()
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


def _read_splits(recipe: Any) -> tuple[list, list, dict[str, Any], list[Problem]]:
    from .load import iter_examples
    from .split import split_indices

    spec = recipe.recipe.data
    from .sources import is_mixed

    if is_mixed(spec):
        from .mix import mix_splits

        return mix_splits(recipe)
    found: list[Problem] = []
    train = list(iter_examples(recipe.data_path(spec.train), spec.format, found))
    info: dict[str, Any] = {}
    if spec.validation:
        validation = list(iter_examples(recipe.data_path(spec.validation), spec.format, found))
        info["validation"] = "file"
    else:
        ratio = spec.split if spec.split is not None else (0.1 if len(train) >= 10_000 else 0.2)
        strata = [_stratum(e, spec.stratify_by) for e in train]
        from .recipe_checks import stratify_problem

        unknown = stratify_problem(recipe, strata)
        if unknown is not None:
            found.append(unknown)
        train_idx, val_idx = split_indices(strata, ratio, spec.seed)
        validation = [train[i] for i in val_idx]
        train = [train[i] for i in train_idx]
        info.update(validation="split", ratio=ratio, seed=spec.seed, stratify_by=spec.stratify_by)
    return train, validation, info, found


def _check_objective(recipe: Any, examples: list, problems: list[Problem]) -> None:
    from ..components import get_objective

    want = recipe.recipe.objective
    objective = get_objective(want)
    wrong = [e for e in examples if not objective.accepts(e)]
    if wrong:
        e = wrong[0]
        file, line = (e.source.file, e.source.line) if e.source else (None, None)
        kind = {"preference": "preference pairs", "chat": "SFT examples", "completion": "SFT examples"}.get(
            e.kind, f"{e.kind} examples")
        problems.append(Problem(f"objective is {want!r} but the data holds {kind} "
                                f"({len(wrong)} of {len(examples)} examples)", file=file, line=line))
        return
    for e, message in objective.check_examples(examples):
        file, line = (e.source.file, e.source.line) if e.source else (None, None)
        problems.append(Problem(f"objective {want}: {message}", file=file, line=line))


def checked_splits(recipe: Any) -> tuple[list, list, dict[str, Any], list[Problem]]:
    """The data checks of :func:`plan_data`, without its statistics: (train, validation, split
    description, problems); problems are every missing file, unknown format, invalid record and
    example the objective cannot train on (the lists are empty when a file is missing). ``ftx
    recipes validate`` needs only these: the statistics add warnings, never a problem."""
    from .recipe_checks import format_problem
    from .sources import missing_sources

    spec = recipe.recipe.data
    problems = [p for p in (_path_problem(recipe, "train", spec.train) if isinstance(spec.train, str) else None,
                            _path_problem(recipe, "validation", spec.validation) if spec.validation else None) if p]
    problems += [p for p in (format_problem(recipe),) if p]
    problems += missing_sources(recipe)
    if problems:
        return [], [], {}, problems
    train, validation, info = load_splits(recipe, problems)
    _check_objective(recipe, train + validation, problems)
    return train, validation, info, problems


def plan_data(recipe: Any, backend: Any, meanwhile: Any = None) -> tuple[dict[str, Any], list[Problem], list[str]]:
    """Validate and summarise the data for ``recipe`` on ``backend``.

    ``meanwhile``: a :class:`ftx.data.token_share.Meanwhile`, work done in this process while a
    forked child counts its share of the texts and builds the duplicate index (a hosted plan's
    upload files); it runs only when the data has no problem, and should not raise (what it
    finds, its caller finds again in its own place).

    Returns (summary, problems, warnings); problems are every invalid record and missing file."""
    from .advice import dataset_warnings
    from .dedupe_fork import forking_pays, index_for
    from .stats import compute_stats
    from .sources import train_file

    spec = recipe.recipe.data
    train, validation, info, problems = checked_splits(recipe)
    if problems:
        return {}, problems, []
    counter, counter_warning = _counter_for(recipe, backend)
    max_length = recipe.recipe.hyperparameters.max_length
    sides = [train, validation] if validation else [train]
    # One index: the training set's duplicates, the validation set's, the leak check; on a large
    # data set built by a forked child while this process computes the statistics.
    with bulk_objects():  # the index's entries live as long as it: nothing for the cyclic collector
        texts = [m.content for examples in sides for e in examples for m in e.messages
                 if m.tool_calls is None] if hasattr(counter, "count_all") else []
        split = counted = None
        if meanwhile is not None and meanwhile.share > 0 and hasattr(counter, "fresh_texts") \
                and forking_pays(len(train) + len(validation)):
            # Work here meanwhile: the child counts a share of the texts before its index.
            from .token_share import plan_share

            split, counted = plan_share(counter, texts, meanwhile.share), True
        index = index_for(sides, first=split.child_part if split is not None else None)
        while_counting = meanwhile.while_counting if meanwhile is not None else None
        if split is not None:
            split.finish(index, while_counting)
        else:
            if texts and not counted:  # every text counted in one pass, beside the index
                counter.count_all(texts)
            if while_counting is not None:
                while_counting()
        texts = split = None  # counted: the lists go before the upload files are made
        try:
            if meanwhile is not None:
                meanwhile.once_counted()
            train_stats = compute_stats(train, counter=counter, max_length=max_length,
                                        stratify_by=spec.stratify_by, index=index)
            val_stats = compute_stats(validation, counter=counter, max_length=max_length,
                                      stratify_by=spec.stratify_by, index=index, side=1) if validation else None
            leaks = index.leaks() if validation else None
        finally:
            index.close()
    summary: dict[str, Any] = {
        "train_file": train_file(recipe),
        "validation_file": recipe.data_path(spec.validation) if spec.validation else None,
        "format": spec.format,
        "train_examples": len(train),
        "validation_examples": len(validation),
        "split": info,
        "tokens": train_stats.to_dict().get("total_tokens"),
        "counted_in": counter.name,
    }
    if info.get("mix"):
        summary["mix"] = info["mix"]
    warnings = dataset_warnings(train_stats, val_stats, leaks, hosted_minimum=10 if backend.hosted else None)
    if getattr(recipe.recipe.eval, "test", None):  # ftx eval will measure those baselines on eval.test
        warnings = [w for w in warnings if not w.startswith("Measure the base model's")]
    return summary, problems, ([counter_warning] if counter_warning else []) + list(warnings)


def _counter_for(recipe: Any, backend: Any) -> tuple[Any, str | None]:
    """The backend's tokenizer where ftx can count offline; characters (with a warning) when the
    package that counts for it is not installed."""
    from ..errors import FtxError
    from .tokens import get_counter

    try:
        counter = backend.token_counter(recipe) if recipe.model else None
    except FtxError as exc:
        return get_counter(None), f"counting characters instead of tokens: {exc.problems[0].message}"
    return (counter, None) if counter is not None else (get_counter(None), None)
