"""The sources of a mixed training set: what ``data.train`` (as a list) and ``data.replay`` hold.

``data.train`` stays a plain string for one file. As a list, each entry is a mapping naming a
file (or ``hf:`` dataset, or ``ftx:general``, the general set ftx generates offline) with its
format, its share of the mix (``weight``) or a fixed number of examples (``count``), an optional
task name, a task prefix or system prompt, and its own validation file or split. The mixing itself
is :mod:`ftx.data.mix`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

GENERAL = "ftx:general"  # the general instruction set ftx ships (generated, see ftx.data.general)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceSpec(_Strict):
    """One training source of a mix."""

    path: str = Field(description="a file (jsonl, json, csv, parquet), hf:NAME[:SPLIT], or ftx:general")
    format: str = Field("auto", description="data format name, or auto to detect")
    weight: float | None = Field(None, gt=0, description="share of the mix (weights are normalised)")
    count: int | None = Field(None, ge=1, description="a fixed number of examples per epoch instead of a weight")
    task: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
                             description="task name for per-task metrics; default: the file's stem")
    prefix: str | None = Field(None, description="text put before the first user turn of each example")
    system: str | None = Field(None, description="system prompt added to examples that have none")
    validation: str | None = Field(None, description="this source's validation file")
    split: float | None = Field(None, gt=0, lt=1, description="validation share split off this source")

    @model_validator(mode="after")
    def _one_size(self) -> "SourceSpec":
        if self.weight is not None and self.count is not None:
            raise ValueError("give either weight or count, not both")
        if self.validation and self.split is not None:
            raise ValueError("give either validation or split, not both")
        return self


class ReplaySpec(_Strict):
    """General data mixed into every epoch at a fixed share, against forgetting."""

    source: Union[str, SourceSpec] = Field(GENERAL, description="ftx:general, a file, hf:NAME, or a source mapping")
    ratio: float = Field(0.1, gt=0, lt=1, description="share of the training mix that is replay (0.1 = 10%)")


class CurriculumSpec(_Strict):
    """An ordering of the mixed examples (deterministic)."""

    by: Literal["length", "field", "source"] = Field(description="order by length, a record field, or source")
    field: str | None = Field(None, description="the record field to order by (by: field)")
    descending: bool = False
    # by: source: the task share of each epoch grows from start_ratio to 1 (replay/general first)
    start_ratio: float = Field(0.5, gt=0, le=1, description="by: source: task share of the first epoch's mix")

    @model_validator(mode="after")
    def _field_given(self) -> "CurriculumSpec":
        if self.by == "field" and not self.field:
            raise ValueError("curriculum by field needs field: NAME")
        return self


class MixSpec(_Strict):
    """How several sources become one training set."""

    examples: int | None = Field(None, ge=1, description="training examples per epoch; default: the most "
                                 "the weights allow without repeating an example")
    dedupe: bool = Field(True, description="drop exact copies across sources (and validation copies of train)")
    curriculum: CurriculumSpec | None = None


def train_sources(spec: Any) -> list[SourceSpec]:
    """The training sources of a ``DataSpec``: one for a string, the list otherwise (replay excluded)."""
    if isinstance(spec.train, str):
        return [SourceSpec(path=spec.train, format=spec.format, weight=1.0)]
    return list(spec.train)


def is_mixed(spec: Any) -> bool:
    """Whether the recipe's data goes through the mixer (a list of sources or replay)."""
    return not isinstance(spec.train, str) or getattr(spec, "replay", None) is not None


def replay_source(spec: Any) -> SourceSpec | None:
    replay = getattr(spec, "replay", None)
    if replay is None:
        return None
    src = replay.source
    if isinstance(src, str):
        src = SourceSpec(path=src)
    return src.model_copy(update={"task": src.task or "replay", "weight": None, "count": None})


def task_name(source: SourceSpec) -> str:
    if source.task:
        return source.task
    if source.path == GENERAL:
        return "general"
    name = source.path.rsplit("/", 1)[-1].split(":")[-1]
    return Path(name).stem or name


def train_paths(recipe: Any) -> list[str]:
    """Every training path of the recipe, resolved against its folder."""
    return [recipe.data_path(s.path) for s in train_sources(recipe.recipe.data)]


def train_file(recipe: Any) -> str:
    """One path naming the training data (the first source of a mix), for messages."""
    return train_paths(recipe)[0]


def source_locations(recipe: Any) -> list[tuple[str, str, SourceSpec]]:
    """(field, resolved path, source) of every source, replay included: ``field`` is the
    recipe key to point problems at (``data.train.1.path``)."""
    spec = recipe.recipe.data
    out = []
    if isinstance(spec.train, str):
        out.append(("data.train", recipe.data_path(spec.train), train_sources(spec)[0]))
    else:
        for i, s in enumerate(spec.train):
            out.append((f"data.train.{i}.path", recipe.data_path(s.path), s))
    replay = replay_source(spec)
    if replay is not None:
        key = "data.replay.source" + (".path" if not isinstance(spec.replay.source, str) else "")
        out.append((key, replay.path if replay.path == GENERAL else recipe.data_path(replay.path), replay))
    return out


def data_refs(recipe: Any) -> list[str]:
    """Every local path the recipe's data reads (to notice a changed file)."""
    spec = recipe.recipe.data
    refs = [path for _, path, _ in source_locations(recipe) if path != GENERAL]
    refs += [recipe.data_path(s.validation) for _, _, s in source_locations(recipe) if s.validation]
    if spec.validation:
        refs.append(recipe.data_path(spec.validation))
    return refs


def missing_sources(recipe: Any) -> list[Any]:
    """A problem (at the recipe's file:line) for every source file of a mix that does not exist."""
    from ..errors import Problem

    spec = recipe.recipe.data
    if isinstance(spec.train, str) and spec.replay is None:
        return []
    out = []
    for dotted, path, s in source_locations(recipe):
        checks = [(dotted, path)] if dotted != "data.train" else []
        if s.validation:
            checks.append((dotted.removesuffix(".path") + ".validation", recipe.data_path(s.validation)))
        for key, ref in checks:
            if ref == GENERAL or ref.startswith("hf:") or Path(ref).exists():
                continue
            file, line = recipe.located.where(tuple(int(p) if p.isdigit() else p for p in key.split(".")))
            out.append(Problem(f"data file not found: {ref}", file=file, line=line, field=key))
    return out
