"""Load, validate and resolve a recipe for one backend, reporting every error at once."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import Problem, RecipeError
from .shipped import find_recipe
from .yamlmap import Located, load_yaml, merge, parse_override, problem_at, set_path

def _humanize(err: dict) -> str:
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "must be an integer"
    if kind in ("float_parsing", "float_type"):
        return "must be a number"
    if kind in ("bool_parsing", "bool_type"):
        return "must be true or false"
    if kind in ("string_type",):
        return "must be a string"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "list_type":
        return "must be a list"
    if kind == "literal_error":
        return f"must be {ctx.get('expected', '')}".rstrip()
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[kind]
        bound = next(iter(ctx.values()), "")
        return f"must be {op} {bound}"
    return str(err["msg"]).removeprefix("Value error, ")


@dataclass
class ResolvedRecipe:
    """A validated recipe as one backend sees it, with defaults filled in."""

    recipe: Any  # schema.Recipe
    backend: str | None
    model: str | None
    method: Any  # TrainingMethod
    method_params: Any  # the method's pydantic params
    options: Any  # the backend's options (pydantic model or dict)
    path: Path | None
    located: Located
    defaults: dict[str, str] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    # the recipe's data as read once per command (see ftx.data.plan.load_splits)
    data_cache: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def is_set(self, dotted: str) -> bool:
        """Whether the user set this field (in the file, a backend section or an override)."""
        return tuple(_key(p) for p in dotted.split(".")) in self.located.lines

    def data_path(self, ref: str) -> str:
        """A data reference resolved against the recipe's folder (``hf:`` names pass through)."""
        if ":" in ref.split("/")[0] and not Path(ref).exists():
            return ref
        p = Path(ref).expanduser()
        return str(p if p.is_absolute() else (self.base_dir / p))

    def to_dict(self) -> dict[str, Any]:
        out = self.recipe.model_dump(mode="json", exclude={"backends"})
        out["method"] = {"name": self.recipe.method.name, **self.method_params.model_dump(mode="json")}
        if self.recipe.method.regularization is not None:
            out["method"]["regularization"] = self.recipe.method.regularization.model_dump(mode="json")
        if self.backend:
            out["backend"] = self.backend
            out["model"] = self.model
        if self.options:
            out["options"] = self.options.model_dump(mode="json") if hasattr(self.options, "model_dump") else self.options
        return out

    def snapshot_hash(self) -> str:
        data = self.to_dict()
        data.pop("tracking", None)  # where a run is logged does not change what it trains
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def _key(part: str) -> Any:
    return int(part) if part.isdigit() else part


_TAGS = {"int", "float", "str", "bool", "list", "dict", "none"}


def _clean_loc(loc: tuple) -> tuple:
    """Drop the union-branch tags pydantic adds to error locations (``int``, ``literal['auto']``)."""
    return tuple(p for p in loc if not (isinstance(p, str) and (
        p in _TAGS or "[" in p or p.startswith("function-"))))


def _pydantic_problems(exc: Any, located: Located, prefix: tuple = ()) -> list[Problem]:
    return _located_problems(exc.errors(), located, prefix)


def _located_problems(errors: list[dict], located: Located, prefix: tuple = ()) -> list[Problem]:
    grouped: dict[tuple, list[str]] = {}
    for err in errors:
        loc = _clean_loc(prefix + tuple(err["loc"]))
        msg = _humanize(err)
        if msg not in grouped.setdefault(loc, []):
            grouped[loc].append(msg)
    return [problem_at(located, loc, " or ".join(msgs)) for loc, msgs in grouped.items()]


# Outcomes of validating recipe data against the schema, per process: one command resolves the
# same recipe for several backends (``ftx estimate``: every backend; ``recipes validate``: each
# named one), and a backend without a section of its own sees the very data the base did. The
# schema's validators are pure functions of the data, so equal data (compared by ``repr``, which
# tells 1 from 1.0 and True) gets the same model or the same errors; the model is never handed
# out itself (``_fill`` copies it) and the errors are located again against each view.
_VALIDATED: dict[tuple[int, str], tuple[Any, list[dict]]] = {}
_VALIDATED_MAX = 64


def _validate_base(located: Located, problems: list[Problem]) -> Any:
    from pydantic import ValidationError

    from .schema import Recipe

    key = (id(Recipe), repr(located.data))
    outcome = _VALIDATED.get(key)
    if outcome is None:
        try:
            outcome = (Recipe.model_validate(located.data), [])
        except ValidationError as exc:
            outcome = (None, exc.errors(include_url=False))
        if len(_VALIDATED) >= _VALIDATED_MAX:
            _VALIDATED.pop(next(iter(_VALIDATED)))
        _VALIDATED[key] = outcome
    model, errors = outcome
    problems.extend(_located_problems(errors, located))
    return model


def _method(view: Located, problems: list[Problem]) -> tuple[Any, Any]:
    """Validate the raw ``method`` block with its plugin's params model (independently of the
    rest of the recipe, so its errors are reported alongside everything else)."""
    from pydantic import ValidationError

    from ..components import methods

    raw = view.data.get("method") or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("name", "lora"), str):
        return None, None  # the schema reports it
    table = methods()
    name = raw.get("name", "lora")
    if name not in table:
        problems.append(problem_at(view, ("method", "name"),
                                   f"unknown method {name!r}; installed: {', '.join(sorted(table)) or 'none'}"))
        return None, None
    method = table[name]
    try:
        params = method.params_model().model_validate({k: v for k, v in raw.items()
                                                        if k not in ("name", "regularization")})
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, view, ("method",)))
        return method, None
    return method, params


def _objective(view: Located, problems: list[Problem]) -> Any:
    """The registered objective the recipe names (``None``, with a problem, when none is)."""
    from ..components import objectives

    name = view.data.get("objective", "sft")
    if not isinstance(name, str):
        return None  # the schema reports it
    table = objectives()
    if name not in table:
        problems.append(problem_at(view, ("objective",),
                                   f"unknown objective {name!r}; installed: {', '.join(sorted(table)) or 'none'}"))
        return None
    return table[name]


def _backend_view(located: Located, name: str, problems: list[Problem]) -> tuple[Located, dict[str, Any]]:
    """The recipe with ``backends.NAME``'s sections merged in, and that block's other keys."""
    from .schema import SECTIONS

    block = located.data.get("backends") or {}
    section = (block.get(name) if isinstance(block, dict) else None) or {}
    if not isinstance(section, dict):
        problems.append(problem_at(located, ("backends", name), "must be a mapping"))
        return located, {}
    view = Located(copy.deepcopy(located.data), dict(located.lines), dict(located.names))
    sections = {k: v for k, v in section.items() if k in SECTIONS}
    merge(view, Located(sections, located.lines), prefix=("backends", name))
    for key, value in located.overrides:  # the command line wins over the backend's section
        if key[:2] != ("backends", name):
            set_path(view, key, copy.deepcopy(value), located.lines.get(key, ("<command line>", None)))
    options = {k: v for k, v in section.items() if k not in SECTIONS}
    return view, options


def _options(backend: Any, name: str, options: dict[str, Any], located: Located,
             problems: list[Problem]) -> Any:
    from pydantic import ValidationError

    model = backend.options_model() if backend else None
    if model is None:
        for key in options:
            problems.append(problem_at(located, ("backends", name, key),
                                       f"unknown key for backend {name!r}"))
        return {}
    try:
        return model.model_validate(options)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, located, ("backends", name)))
        return None


def load_recipe(ref: str | Path, overrides: list[str] | tuple[str, ...] = (),
                backend: str | None = None) -> ResolvedRecipe:
    """Read a recipe file (or shipped recipe name), apply ``key=value`` overrides, validate the
    whole file (every backend section included) and resolve it for ``backend``."""
    from .read import read_recipe_text

    path = find_recipe(ref)
    located = load_yaml(read_recipe_text(path, _display(path)), _display(path))
    if not isinstance(located.data, dict):
        raise RecipeError("a recipe is a YAML mapping (name, model, data, ...)", file=_display(path), line=1)
    for item in overrides:
        key, value = parse_override(item)
        set_path(located, key, value, ("<command line>", None))
        located.overrides.append((key, value))
    return resolve_recipe(located, backend, path)


def resolve_recipe(located: Located, backend: str | None, path: Path | None = None) -> ResolvedRecipe:
    from ..components import backends
    from .advice import recipe_advice

    problems: list[Problem] = []
    warnings: list[Problem] = []
    installed = backends()
    if backend is not None and backend not in installed:
        from ..errors import PluginError
        raise PluginError(f"unknown backend {backend!r}; installed: {', '.join(sorted(installed)) or 'none'}")
    base = _validate_base(located, problems)
    resolved: ResolvedRecipe | None = None
    names = list((located.data.get("backends") or {}) if isinstance(located.data.get("backends"), dict) else [])
    if backend and backend not in names:
        names.append(backend)
    views = [(None, located, {})] + [(n, *_backend_view(located, n, problems)) for n in names]
    for name, view, option_keys in views:
        recipe = _validate_base(view, problems) if name else base
        if name and name not in installed:
            if name != backend:
                warnings.append(problem_at(located, ("backends", name),
                                           f"backend {name!r} is not installed; its section was not checked"))
            continue
        method, params = _method(view, problems)
        objective = _objective(view, problems)
        options = _options(installed.get(name), name, option_keys, view, problems) if name else {}
        if name == backend and recipe is not None and params is not None:
            resolved = _fill(recipe, name, method, params, options, path, view, objective)
    unique = list(dict.fromkeys(problems))
    if unique:
        raise RecipeError(problems=sorted(unique, key=lambda p: (p.file or "", p.line or 0, p.field or "")))
    assert resolved is not None
    resolved.warnings = warnings + recipe_advice(resolved)
    return resolved


def _fill(recipe: Any, backend: str | None, method: Any, params: Any, options: Any,
          path: Path | None, located: Located, objective: Any = None) -> ResolvedRecipe:
    recipe = recipe.model_copy(deep=True)
    defaults: dict[str, str] = {}
    hp = recipe.hyperparameters
    if hp.learning_rate is None:
        hp.learning_rate = method.default_learning_rate
        defaults["hyperparameters.learning_rate"] = f"default for method {method.name}"
    for key, value in (getattr(objective, "defaults", None) or {}).items():
        if getattr(hp, key, None) is None:
            setattr(hp, key, value)
            defaults[f"hyperparameters.{key}"] = f"{objective.name.upper()} default"
    for section in ("hyperparameters", "eval", "data"):
        for key in type(getattr(recipe, section)).model_fields:
            dotted = f"{section}.{key}"
            if (section, key) not in located.lines and dotted not in defaults:
                defaults[dotted] = "default"
    for key in type(params).model_fields if params is not None else ():
        if ("method", key) not in located.lines:
            defaults[f"method.{key}"] = f"default for method {method.name}"
    model = recipe.model.get(backend) if backend else None
    return ResolvedRecipe(recipe, backend, model, method, params, options, path, located, defaults)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
