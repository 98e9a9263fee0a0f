"""``eval.forgetting.harness`` entries resolved before anything runs: lm-evaluation-harness task
names, or local task YAML files / folders of them (relative to the recipe's folder).

A local task is an lm-evaluation-harness task YAML, read here with PyYAML only (the harness is
imported by the local backend when it runs the tasks, never at recipe or dry-run time). A file
named in the recipe must be a YAML mapping with a ``task:`` name (or a ``group:`` of tasks); a
folder stands for every YAML in it (recursively) that has a ``task:`` name, the others being
templates. A ``dataset_kwargs.data_files`` path of a file-based
dataset (``dataset_path: json``, ``csv``, ``parquet``, ``text``, ``arrow``) must exist, relative to
the YAML's folder (where the harness is run from). Problems are one line each, located at the
recipe's ``eval.forgetting.harness.N``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem, RecipeError

YAML_SUFFIXES = (".yaml", ".yml")
FILE_DATASETS = ("json", "csv", "parquet", "text", "arrow")


@dataclass(frozen=True)
class LocalTask:
    name: str
    path: str  # the task YAML, absolute

    @property
    def folder(self) -> str:
        return str(Path(self.path).parent)


@dataclass
class HarnessPlan:
    """What the harness is asked to run: named (registry) tasks, and local task YAMLs."""

    named: list[str] = field(default_factory=list)
    local: list[LocalTask] = field(default_factory=list)
    limit: int | None = None  # at most this many documents per task (eval.forgetting.harness_limit)

    @property
    def include_paths(self) -> list[str]:
        """Folders for ``lm_eval.tasks.TaskManager(include_path=...)``."""
        return list(dict.fromkeys(t.folder for t in self.local))

    @property
    def tasks(self) -> list[str]:
        return [*self.named, *(t.name for t in self.local)]

    def to_dict(self) -> dict[str, Any]:
        return {"named": list(self.named), "local": {t.name: t.path for t in self.local}, "limit": self.limit}

    def __bool__(self) -> bool:
        return bool(self.named or self.local)


def looks_like_path(entry: str) -> bool:
    return entry.lower().endswith(YAML_SUFFIXES) or any(c in entry for c in "/\\") or entry.startswith(("~", "."))


def _loader() -> Any:
    """PyYAML's safe loader that also reads the harness's ``!function module.name`` tags (as text)."""
    import yaml

    from ..yamlio import safe_loader

    class TaskLoader(safe_loader()):  # type: ignore[misc, valid-type]
        pass

    TaskLoader.add_multi_constructor("!", lambda loader, suffix, node: f"!{suffix} {getattr(node, 'value', '')}")
    return TaskLoader


def _read_task(path: Path, in_folder: bool) -> tuple[str | None, str | None]:
    """(task name, problem) for one task YAML. In a folder, a YAML without a ``task:`` name (a
    template others ``include:``, a group) is no task: (None, None)."""
    import yaml

    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_loader())
    except OSError as exc:
        return None, f"cannot read task file {path}: {exc.strerror}"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = str(getattr(exc, "problem", None) or exc).splitlines()[0]
        return None, f"task file {path}{at} is not valid YAML: {problem}"
    data = data if isinstance(data, dict) else {}
    name = data.get("task")
    if isinstance(name, list) and isinstance(data.get("group"), str) and not in_folder:
        name = data["group"]  # a group file: the harness runs its tasks under the group's name
    if not isinstance(name, str) or not name.strip():
        if in_folder:
            return None, None
        return None, f"task file {path} has no 'task:' name (an lm-evaluation-harness task YAML names its task)"
    missing = _missing_data_files(data, path.parent)
    if missing:
        return None, f"task file {path}: dataset_kwargs.data_files: {missing} not found (relative to {path.parent})"
    return name.strip(), None


def _missing_data_files(data: dict[str, Any], folder: Path) -> str | None:
    if str(data.get("dataset_path", "")) not in FILE_DATASETS:
        return None
    kwargs = data.get("dataset_kwargs")
    files = kwargs.get("data_files") if isinstance(kwargs, dict) else None
    values = list(files.values()) if isinstance(files, dict) else [files]
    for value in values:
        for ref in (value if isinstance(value, list) else [value]):
            if not isinstance(ref, str) or "://" in ref or any(c in ref for c in "*?["):
                continue
            p = Path(ref).expanduser()
            if not (p if p.is_absolute() else folder / p).is_file():
                return ref
    return None


def _task_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix.lower() in YAML_SUFFIXES and p.is_file())
    return [path]


def resolve_harness(entries: list[str], base_dir: Path, where: Any = None) -> HarnessPlan:
    """The plan for ``eval.forgetting.harness``; every bad entry is one located problem."""
    plan = HarnessPlan()
    problems: list[Problem] = []
    names: set[str] = set()
    for i, entry in enumerate(entries):
        file, line = where(("eval", "forgetting", "harness", i)) if where else (None, None)
        fld = f"eval.forgetting.harness.{i}"
        candidate = Path(entry).expanduser()
        candidate = candidate if candidate.is_absolute() else base_dir / candidate
        if not looks_like_path(entry) and not candidate.exists():
            plan.named.append(entry)
            continue
        if not candidate.exists():
            problems.append(Problem(f"task file not found: {candidate}", file, line, fld))
            continue
        folder = candidate.is_dir()
        before = len(plan.local), len(problems)
        for task_file in _task_files(candidate.resolve()):
            name, problem = _read_task(task_file, folder)
            if problem:
                problems.append(Problem(problem, file, line, fld))
            elif name is None:
                continue
            elif name in names:
                problems.append(Problem(f"task {name!r} ({task_file}) is named twice in eval.forgetting.harness",
                                        file, line, fld))
            else:
                names.add(name)
                plan.local.append(LocalTask(name, str(task_file)))
        if folder and (len(plan.local), len(problems)) == before:
            problems.append(Problem(f"no task YAML (*.yaml, *.yml with a 'task:' name) in {candidate}",
                                    file, line, fld))
    if problems:
        raise RecipeError(problems=problems)
    return plan


def harness_plan(recipe: Any) -> HarnessPlan:
    """:func:`resolve_harness` for a resolved recipe, with its per-task document limit."""
    forgetting = recipe.recipe.eval.forgetting
    plan = resolve_harness(list(forgetting.harness), recipe.base_dir, recipe.located.where)
    plan.limit = forgetting.harness_limit
    return plan


def compare_scores(base: dict[str, Any], tuned: dict[str, Any], threshold: float,
                   plan: HarnessPlan | None = None) -> tuple[dict[str, Any], list[str]]:
    """Base vs tuned harness scores (as :func:`ftx.plugins.local.harness.scores_of` gives them):
    per task and metric the two values, ``delta`` (tuned - base) and ``drop`` (how much worse the
    tuned model is, in the metric's own direction; ``None`` when the harness gives none); and a
    warning per 0-1 metric whose drop exceeds ``threshold`` points (x100)."""
    tasks: dict[str, Any] = {}
    warnings: list[str] = []
    for task, b in base.items():
        t = tuned.get(task) or {"metrics": {}}
        rows: dict[str, Any] = {}
        for metric, bm in b["metrics"].items():
            tm = t["metrics"].get(metric)
            if tm is None:
                continue
            hib = bm.get("higher_is_better")
            delta = tm["value"] - bm["value"]
            drop = None if hib is None else (-delta if hib else delta)
            rows[metric] = {"base": round(bm["value"], 6), "tuned": round(tm["value"], 6), "delta": round(delta, 6),
                            "drop": None if drop is None else round(drop, 6), "higher_is_better": hib,
                            "stderr": {"base": bm.get("stderr"), "tuned": tm.get("stderr")}}
            fraction = 0 <= bm["value"] <= 1 and 0 <= tm["value"] <= 1
            if drop is not None and fraction and drop * 100 > threshold:
                warnings.append(f"the tuned model lost {drop * 100:.1f} points of {metric} on lm-evaluation-harness "
                                f"task {task} ({bm['value']:.3f} -> {tm['value']:.3f}; threshold {threshold:g}): "
                                "it may have forgotten general skills")
        tasks[task] = {"n": b.get("n"), "n_tuned": t.get("n"), "metrics": rows}
    return _with_plan({"tasks": tasks}, plan), warnings


def base_scores(base: dict[str, Any], plan: HarnessPlan | None = None) -> dict[str, Any]:
    """The base model's harness scores alone (``ftx eval --baseline-only``), in the shape of
    :func:`compare_scores`'s, the tuned columns empty: the starting point before any tuning."""
    tasks = {task: {"n": b.get("n"), "n_tuned": None, "metrics": {
        metric: {"base": round(bm["value"], 6), "tuned": None, "delta": None, "drop": None,
                 "higher_is_better": bm.get("higher_is_better"), "stderr": {"base": bm.get("stderr"), "tuned": None}}
        for metric, bm in b["metrics"].items()}} for task, b in base.items()}
    return _with_plan({"tasks": tasks}, plan)


def _with_plan(out: dict[str, Any], plan: HarnessPlan | None) -> dict[str, Any]:
    if plan is not None:
        out["local"] = {t.name: t.path for t in plan.local}
        if plan.limit:
            out["limit"] = plan.limit
    return out
