"""Load built-in and third-party plugins the same way: entry points of group ``ftx``.

``FTX_PLUGINS`` narrows loading: unset loads everything; ``builtin`` loads only ftx's own;
``none`` (or empty) loads nothing; otherwise a comma list of entry-point names to load
(``builtin`` may be one of them). ``FTX_DISABLE_PLUGINS`` is a comma list of names never to load.

A plugin that fails to import, implements a hook ftx does not have (a misspelt name), or raises
inside a hook is reported by name in one line on stderr and skipped; the rest of ftx keeps
working. ``FTX_DEBUG=1`` re-raises instead, so nothing hides.

Order: every hook is called in registration order (built-ins first, then third-party plugins by
entry-point name, then in-process plugins), except that ``tryfirst=True`` implementations come
before all others and ``trylast=True`` ones after. So for registered names the first
registration wins, and a plugin overrides a built-in only by asking for it with ``tryfirst``.
"""

from __future__ import annotations

import itertools
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .errors import PluginError

GROUP = "ftx"
SPECS = frozenset(n for n in dir(hookspecs) if n.startswith("ftx_") and hasattr(getattr(hookspecs, n), "ftx_spec"))

# What each register hook must be given: (module, class), imported only when checking.
_BASES = {
    "ftx_register_formats": ("ftx.formats", "DataFormat"),
    "ftx_register_methods": ("ftx.methods", "TrainingMethod"),
    "ftx_register_objectives": ("ftx.objectives", "Objective"),
    "ftx_register_backends": ("ftx.backends", "Backend"),
    "ftx_register_price_tables": ("ftx.estimate", "PriceTable"),
    "ftx_register_metrics": ("ftx.eval.metrics", "Metric"),
}


@dataclass
class PluginInfo:
    """One plugin as ``ftx plugins`` shows it."""

    name: str
    module: str
    version: str | None
    dist: str | None
    builtin: bool
    error: str | None = None
    hooks: list[str] = field(default_factory=list)


def warn(message: str) -> None:
    """One line on stderr, prefixed ``ftx:`` (never a traceback)."""
    print(f"ftx: {message}", file=sys.stderr)


class Plugins:
    """ftx's plugin manager: a pluggy manager plus per-plugin failure isolation."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.failures: list[PluginInfo] = []
        self._cache: dict[str, dict[str, Any]] = {}
        self._warned: set[str] = set()
        self._seq: dict[str, int] = {}
        self._counter = itertools.count()

    # -- loading -------------------------------------------------------------------------
    def load_entry_points(self) -> None:
        """Register every allowed entry point of group ``ftx``; failures are recorded, not raised."""
        wanted = _names(os.environ.get("FTX_PLUGINS")) if "FTX_PLUGINS" in os.environ else None
        disabled = _names(os.environ.get("FTX_DISABLE_PLUGINS"))
        eps = sorted(_entry_points(), key=lambda e: (not _is_builtin(e), e.name))
        if wanted:
            unknown = sorted(wanted - {e.name for e in eps} - {"builtin", "none"})
            if unknown:
                warn(f"FTX_PLUGINS names plugins that are not installed: {', '.join(unknown)}")
        for ep in eps:
            if not _allowed(ep, wanted) or ep.name in disabled:
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, ep.value, dist.version if dist else None,
                              _dist_name(dist) if dist else None, _is_builtin(ep))
            if self.pm.get_plugin(ep.name) is not None:
                first = self.info.get(ep.name)
                warn(f"plugin {ep.name!r} from {info.dist or ep.value} ignored: the name is already "
                     f"used by {(first.dist if first else None) or 'another plugin'}")
                continue
            try:
                module = ep.load()
                self._add(module, ep.name)
            except Exception as exc:  # a broken plugin must not break the CLI
                if os.environ.get("FTX_DEBUG"):
                    raise
                info.error = exc.lines()[0] if isinstance(exc, PluginError) else _one_line(exc)
                self.failures.append(info)
                warn(f"plugin {ep.name!r} ({info.dist or ep.value}) failed to load: {info.error} "
                     f"(FTX_DISABLE_PLUGINS={ep.name} skips it)")
                continue
            info.hooks = self.hooks_of(ep.name)
            self.info[ep.name] = info

    def register(self, plugin: Any, name: str | None = None) -> str:
        """Register an in-process plugin (tests, embedding applications); returns its name.

        Raises :class:`PluginError` (one line, naming the plugin) when the name is taken or the
        plugin implements a hook ftx does not have or with arguments the hook does not pass;
        nothing stays registered then."""
        name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
        if self.pm.get_plugin(name) is not None:
            raise PluginError(f"a plugin named {name!r} is already registered")
        try:
            self._add(plugin, name)
        except PluginError as exc:
            raise PluginError(f"plugin {name!r}: {exc.lines()[0]}") from exc
        self.info[name] = PluginInfo(name, getattr(plugin, "__name__", type(plugin).__name__), None, None,
                                     False, hooks=self.hooks_of(name))
        self._cache.clear()
        return name

    def unregister(self, name: str) -> None:
        """Remove a plugin registered under ``name`` (and forget what it registered)."""
        if self.pm.unregister(name=name) is None:
            raise PluginError(f"no plugin named {name!r} is registered")
        self.info.pop(name, None)
        self._seq.pop(name, None)
        self._cache.clear()

    def _add(self, plugin: Any, name: str) -> None:
        """Register with pluggy, then check this one plugin as ``check_pending()`` checks all:
        an implementation of a hook without a spec (a misspelt name) is an error. A rejected
        plugin is unregistered again, so the manager stays valid for everyone else. Raises
        :class:`PluginError` with the reason (the caller adds the plugin's name)."""
        for attr in SPECS:
            impl = getattr(plugin, attr, None)
            if callable(impl) and not hasattr(impl, f"{GROUP}_impl"):
                warn(f"plugin {name!r}: {attr} is not marked @ftx.hookimpl, so ftx ignores it")
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            lines = str(exc).splitlines()
            raise PluginError("; ".join(lines[1:]) or lines[0]) from exc
        except ValueError as exc:  # pluggy: this object is already registered under another name
            raise PluginError(str(exc)) from exc
        unknown = sorted(c.name for c in self.pm.get_hookcallers(plugin) or []
                         if not c.has_spec() and any(i.plugin is plugin and not i.optionalhook
                                                     for i in c.get_hookimpls()))
        if unknown:
            self.pm.unregister(plugin, name=name)
            import difflib

            hints = [f"{u} (did you mean {m[0]}?)" if (m := difflib.get_close_matches(u, SPECS, 1)) else u
                     for u in unknown]
            raise PluginError(f"unknown hook{'s' if len(hints) > 1 else ''} {', '.join(hints)}")
        self._seq[name] = next(self._counter)

    # -- calling -------------------------------------------------------------------------
    def hooks_of(self, name: str) -> list[str]:
        """The hooks plugin ``name`` implements."""
        plugin = self.pm.get_plugin(name)
        if plugin is None:
            return []
        return sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])

    def impls(self, hook: str) -> list[Any]:
        """Implementations of ``hook`` in ftx's call order (see the module docstring)."""
        found = [i for i in getattr(self.pm.hook, hook).get_hookimpls() if not (i.wrapper or i.hookwrapper)]
        return sorted(found, key=lambda i: (0 if i.tryfirst else 2 if i.trylast else 1,
                                            self._seq.get(i.plugin_name, sys.maxsize)))

    def _call(self, impl: Any, hook: str, kwargs: dict[str, Any]) -> tuple[bool, Any]:
        args = {k: v for k, v in kwargs.items() if k in impl.argnames}
        try:
            return True, impl.function(**args)
        except Exception as exc:
            self._fail(impl.plugin_name, hook, exc)
            return False, None

    def call_each(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of ``hook`` separately, so one failing plugin is reported
        by name and skipped instead of failing the whole call. Returns (plugin, result) pairs."""
        results = []
        for impl in self.impls(hook):
            ok, value = self._call(impl, hook, kwargs)
            if ok:
                results.append((impl.plugin_name, value))
        return results

    def first(self, hook: str, **kwargs: Any) -> Any:
        """The first non-``None`` answer of ``hook`` (``firstresult`` hooks such as
        ``ftx_estimate``), calling implementations in ftx's order and skipping failing ones."""
        for impl in self.impls(hook):
            ok, value = self._call(impl, hook, kwargs)
            if ok and value is not None:
                return value
        return None

    def _fail(self, plugin: str, hook: str, exc: Exception) -> None:
        if os.environ.get("FTX_DEBUG"):
            raise exc
        key = f"{plugin}:{hook}"
        if key not in self._warned:
            self._warned.add(key)
            warn(f"plugin {plugin!r} failed in {hook}: {_one_line(exc)}")
            info = self.info.get(plugin)
            if info and not info.error:
                info.error = f"{hook}: {_one_line(exc)}"

    def collect_all(self, hook: str) -> list[tuple[str, Any]]:
        """(plugin, object) for everything added through the ``register`` hook ``hook``, in call
        order, duplicates included. A plugin that raises is reported and contributes nothing."""
        out: list[tuple[str, Any]] = []
        base = _base(hook)
        for impl in self.impls(hook):
            mine: list[Any] = []

            def register(obj: Any, _mine: list[Any] = mine) -> None:
                if base is not None and not isinstance(obj, base):
                    raise TypeError(f"{hook} was given {obj!r}, which is not a {base.__module__}.{base.__name__}")
                name = getattr(obj, "name", None)
                if not isinstance(name, str) or not name:
                    raise TypeError(f"{hook} was given {obj!r}, which has no name")
                check = getattr(obj, "registration_problem", None)
                problem = check() if callable(check) else None
                if problem:
                    raise TypeError(problem)
                _mine.append(obj)

            ok, _ = self._call(impl, hook, {"register": register})
            if ok:  # a plugin that failed half-way adds nothing
                out.extend((impl.plugin_name, obj) for obj in mine)
        return out

    def collect(self, kind: str, hook: str) -> dict[str, Any]:
        """Names -> objects added through a ``register`` hook; the first registration of a name
        wins and a later one is reported, naming both plugins. Sets ``obj.plugin``."""
        if kind in self._cache:
            return self._cache[kind]
        found: dict[str, Any] = {}
        for plugin, obj in self.collect_all(hook):
            if obj.name in found:
                key = f"dup:{kind}:{obj.name}:{plugin}"
                if key not in self._warned:
                    self._warned.add(key)
                    warn(f"{kind} {obj.name!r} from plugin {plugin!r} ignored: "
                         f"already registered by plugin {found[obj.name].plugin!r}")
                continue
            obj.plugin = plugin
            found[obj.name] = obj
        self._cache[kind] = found
        return found


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _base(hook: str) -> type | None:
    if hook not in _BASES:
        return None
    import importlib

    module, cls = _BASES[hook]
    return getattr(importlib.import_module(module), cls)


def _names(value: str | None) -> set[str]:
    return {n.strip() for n in (value or "").split(",") if n.strip()}


def _entry_points() -> list[Any]:
    """The ``ftx`` entry points (``importlib.metadata``'s answer, cached: see ``ftx.entrypoints``)."""
    from .entrypoints import entry_points, quiet_pydantic_plugins

    quiet_pydantic_plugins()
    return entry_points(GROUP)


def _is_builtin(ep: Any) -> bool:
    dist = getattr(ep, "dist", None)
    if dist is not None:
        return _dist_name(dist) == "ftx"
    return ep.value.startswith("ftx.")


_DIST_NAMES: dict[int, tuple[Any, str]] = {}


def _dist_name(dist: Any) -> str:
    """The distribution's name, its METADATA parsed once per process (each ``metadata`` access
    parses the file again, and loading asks for every entry point several times)."""
    known = _DIST_NAMES.get(id(dist))
    if known is None or known[0] is not dist:
        known = _DIST_NAMES[id(dist)] = (dist, str(dist.metadata["Name"]))
    return known[1]


def _allowed(ep: Any, wanted: set[str] | None) -> bool:
    if wanted is None:
        return True
    if not wanted or wanted == {"none"}:
        return False
    if "builtin" in wanted and _is_builtin(ep):
        return True
    return ep.name in wanted


_plugins: Plugins | None = None


def get_plugins() -> Plugins:
    """The process-wide plugin manager, loaded on first use."""
    global _plugins
    if _plugins is None:
        _plugins = Plugins()
        _plugins.load_entry_points()
    return _plugins


def reset_plugins() -> None:
    """Forget loaded plugins (tests; after installing a plugin in-process)."""
    global _plugins
    _plugins = None
    from .entrypoints import forget

    forget()
