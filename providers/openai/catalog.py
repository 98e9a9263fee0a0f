"""The catalog of fine-tunable OpenAI models: methods, price, per-example limit, retirement.

Read from the packaged ``models.yaml`` and, on top of it, the user's override
(``$FTX_OPENAI_CATALOG``, else ``$FTX_HOME/openai-models.yaml``): the override's models replace
the packaged ones field by field (an entry may set just a price) and its top-level keys
(``checked``, ``new_jobs_until``...) win.

    from ftx.providers.openai.catalog import load_catalog, model_info
    info = model_info("gpt-4o-mini")          # alias -> gpt-4o-mini-2024-07-18
    info.train_per_1m_tokens, info.max_example_tokens, info.methods
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftx.errors import BackendError

CATALOG_ENV = "FTX_OPENAI_CATALOG"
USER_FILE = "openai-models.yaml"


@dataclass(frozen=True)
class ModelInfo:
    """One fine-tunable snapshot."""

    name: str
    aliases: tuple[str, ...] = ()
    methods: tuple[str, ...] = ("supervised",)  # OpenAI method types: supervised, dpo
    train_per_1m_tokens: float | None = None  # USD per 1M trained tokens (OpenAI list price)
    azure_train_per_1m_tokens: float | None = None  # set in an override to price Azure runs
    max_example_tokens: int | None = None
    encoding: str | None = None  # o200k_base / cl100k_base: how examples are counted
    shutdown: dt.date | None = None  # the snapshot is retired (no training) from this date
    replacement: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def retired(self, today: dt.date) -> bool:
        return self.shutdown is not None and today >= self.shutdown

    def price(self, backend: str = "openai") -> float | None:
        return self.azure_train_per_1m_tokens if backend == "azure-openai" else self.train_per_1m_tokens


@dataclass(frozen=True)
class Catalog:
    models: dict[str, ModelInfo]
    checked: str | None
    sources: dict[str, str]
    new_jobs_until: dt.date | None
    files: tuple[str, ...]

    def lookup(self, name: str) -> ModelInfo | None:
        """A snapshot by exact name, by alias (``gpt-4o-mini``), or the base of a fine-tuned
        model (``ft:gpt-4o-mini-2024-07-18:org:suffix:id``, which OpenAI can fine-tune further)."""
        key = (name or "").strip()
        if key.startswith("ft:"):
            key = key[3:].split(":", 1)[0]
        if key in self.models:
            return self.models[key]
        for info in self.models.values():
            if key in info.aliases:
                return info
        return None


def today() -> dt.date:
    """Today's date; ``FTX_TODAY`` (YYYY-MM-DD) pins it, so retirement checks are testable."""
    pinned = os.environ.get("FTX_TODAY")
    return dt.date.fromisoformat(pinned) if pinned else dt.date.today()


def _date(value: Any, where: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise BackendError(f"not a date (YYYY-MM-DD): {value!r}", file=where) from None


_FIELDS = {"aliases", "methods", "train_per_1m_tokens", "azure_train_per_1m_tokens", "max_example_tokens",
           "encoding", "shutdown", "replacement"}


def _model(name: str, raw: Any, where: str) -> ModelInfo:
    if not isinstance(raw, dict):
        raise BackendError(f"models.{name}: must be a mapping", file=where)
    extra = {k: v for k, v in raw.items() if k not in _FIELDS}

    def number(key: str) -> float | None:
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise BackendError(f"models.{name}.{key}: must be a number, not {value!r}", file=where)
        return None if value is None else float(value)

    limit = raw.get("max_example_tokens")
    return ModelInfo(
        name=name, aliases=tuple(raw.get("aliases") or ()), methods=tuple(raw.get("methods") or ("supervised",)),
        train_per_1m_tokens=number("train_per_1m_tokens"),
        azure_train_per_1m_tokens=number("azure_train_per_1m_tokens"),
        max_example_tokens=int(limit) if limit is not None else None, encoding=raw.get("encoding"),
        shutdown=_date(raw.get("shutdown"), where), replacement=raw.get("replacement"), extra=extra)


def _read(path: Path) -> dict[str, Any]:
    from ftx.yamlio import load_file

    try:
        data = load_file(path) or {}  # parsed once; later commands read the ftx home's cache
    except OSError as exc:
        raise BackendError(f"cannot read the OpenAI model catalog: {exc.strerror}", file=str(path)) from exc
    except Exception as exc:
        import yaml

        if not isinstance(exc, yaml.YAMLError):
            raise
        mark = getattr(exc, "problem_mark", None)
        raise BackendError(f"invalid YAML in the OpenAI model catalog: {getattr(exc, 'problem', exc)}",
                           file=str(path), line=mark.line + 1 if mark else None) from exc
    if not isinstance(data, dict) or not isinstance(data.get("models", {}), dict):
        raise BackendError("the OpenAI model catalog must be a mapping with a `models:` mapping", file=str(path))
    return data


def user_catalog_path() -> Path | None:
    """The override in effect: ``$FTX_OPENAI_CATALOG`` (must exist), else the ftx home's file."""
    from ftx.home import ftx_home

    named = os.environ.get(CATALOG_ENV)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise BackendError(f"{CATALOG_ENV} names a file that does not exist: {path}")
        return path
    path = ftx_home() / USER_FILE
    return path if path.is_file() else None


_cache: dict[tuple, Catalog] = {}


def _stamp(path: Path) -> tuple:
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


def get_catalog() -> Catalog:
    """The packaged catalog with the user's override applied; re-read when a file changes."""
    packaged = Path(__file__).with_name("models.yaml")
    paths = [packaged]
    override = user_catalog_path()
    if override is not None:
        paths.append(override)
    key = tuple(_stamp(p) for p in paths)
    if key not in _cache:
        _cache.clear()
        _cache[key] = _build([(p, _read(p)) for p in paths])
    return _cache[key]


def _build(layers: list[tuple[Path, dict[str, Any]]]) -> Catalog:
    raw_models: dict[str, tuple[dict[str, Any], str]] = {}
    top: dict[str, Any] = {}
    for path, data in layers:
        for name, raw in (data.get("models") or {}).items():
            if not isinstance(raw, dict):
                raise BackendError(f"models.{name}: must be a mapping", file=str(path))
            # An override changes only the fields it names (e.g. just the price).
            earlier = raw_models.get(str(name), ({}, str(path)))[0]
            raw_models[str(name)] = ({**earlier, **raw}, str(path))
        top.update({k: v for k, v in data.items() if k != "models"})
    models = {name: _model(name, raw, where) for name, (raw, where) in raw_models.items()}
    sources = top.get("sources") or {}
    return Catalog(models, str(top["checked"]) if top.get("checked") else None,
                   dict(sources) if isinstance(sources, dict) else {"source": str(sources)},
                   _date(top.get("new_jobs_until"), str(layers[-1][0])), tuple(str(p) for p, _ in layers))


def load_catalog() -> dict[str, ModelInfo]:
    """Snapshot name -> :class:`ModelInfo` (packaged file plus the user's override)."""
    return dict(get_catalog().models)


def model_info(name: str) -> ModelInfo | None:
    """The catalog entry for a snapshot, alias or ``ft:`` model; ``None`` when unknown."""
    return get_catalog().lookup(name)


def availability(name: str, method: str, backend: str = "openai",
                 when: dt.date | None = None) -> list[tuple[str, str]]:
    """(level, message) findings about training ``name`` with ``method`` today: a retired
    snapshot, an unsupported method or a closed platform are errors; dates ahead are warnings."""
    catalog = get_catalog()
    now = when or today()
    out: list[tuple[str, str]] = []
    info = catalog.lookup(name)
    if info is None:
        out.append(("warning", f"{name!r} is not in ftx's OpenAI model catalog (checked {catalog.checked}): "
                               "its limits and price are unknown; add it to an override catalog "
                               f"($FTX_HOME/{USER_FILE})"))
    else:
        alias = f" ({name} is {info.name})" if info.name != name and not name.startswith("ft:") else ""
        if backend != "openai":
            pass  # Azure retires models on its own schedule, which this catalog does not track
        elif info.retired(now):
            out.append(("error", f"{info.name} was retired on {info.shutdown.isoformat()}{alias}: "
                                 f"it can no longer be fine-tuned{_moves(info, now)}"))
        elif info.shutdown is not None:
            out.append(("warning", f"{info.name} will be retired on {info.shutdown.isoformat()} "
                                   f"({(info.shutdown - now).days} days){alias}, taking its fine-tunes with it"
                                   f"{_moves(info, now)}"))
        if method not in info.methods:
            out.append(("error", f"{info.name} cannot be fine-tuned with method {method!r} "
                                 f"(it supports: {', '.join(info.methods)})"))
    azure_until = _date(get_catalog_top("azure_jobs_until"), "catalog")
    if backend == "azure-openai" and azure_until is not None:
        out.append(("warning", f"Azure OpenAI fine-tuning continues for existing customers until about "
                               f"{azure_until.strftime('%B %Y')} (reported){_moves(None, now, 'azure-openai')}"))
    if backend == "openai" and catalog.new_jobs_until is not None:
        cutoff = catalog.new_jobs_until.isoformat()
        if now >= catalog.new_jobs_until:
            out.append(("error", f"OpenAI stopped accepting new fine-tuning jobs on {cutoff}"))
        else:
            out.append(("warning", f"OpenAI stops accepting new fine-tuning jobs on {cutoff} "
                                   f"({(catalog.new_jobs_until - now).days} days from now); existing "
                                   "fine-tuned models keep serving until their base model retires"))
    return out


def _moves(info: ModelInfo | None, now: dt.date, backend: str = "openai") -> str:
    """``; the recipe could move to ...``: the replacement, then live models of other backends."""
    from ftx.hosted.facts import alternatives

    moves = ([f"{backend}: {info.replacement}"] if info is not None and info.replacement else [])
    moves += alternatives(backend, now)
    return f"; the recipe could move to {', '.join(moves)}" if moves else ""


def get_catalog_top(key: str) -> Any:
    """A top-level field of the packaged catalog (with the override's on top)."""
    from ftx.yamlio import load_file

    value = None
    for path in get_catalog().files:
        data = load_file(path) or {}
        value = data.get(key, value)
    return value
