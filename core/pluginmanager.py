"""Load built-in and third-party plugins the same way: entry points of group ``ftx``.

``FTX_PLUGINS`` narrows loading: unset loads everything; ``builtin`` loads only ftx's own;
``none`` (or empty) loads nothing; otherwise a comma list of entry-point names to load.
``FTX_DISABLE_PLUGINS`` is a comma list of names never to load. A plugin that fails to import
or to run a hook is reported by name and skipped; the rest of ftx keeps working.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable

import pluggy

from . import hookspecs

GROUP = "ftx"


@dataclass
class PluginInfo:
    name: str
    module: str
    version: str | None
    dist: str | None
    builtin: bool
    error: str | None = None
    hooks: list[str] = field(default_factory=list)


class Plugins:
    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}
        self.failures: list[PluginInfo] = []
        self._cache: dict[str, dict[str, Any]] = {}
        self._warned: set[str] = set()

    # -- loading -------------------------------------------------------------------------
    def load_entry_points(self) -> None:
        wanted = os.environ.get("FTX_PLUGINS")
        disabled = {n.strip() for n in os.environ.get("FTX_DISABLE_PLUGINS", "").split(",") if n.strip()}
        for ep in sorted(_entry_points(), key=lambda e: (not _is_builtin(e), e.name)):
            if not _allowed(ep, wanted) or ep.name in disabled or self.pm.has_plugin(ep.name):
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(ep.name, ep.value, dist.version if dist else None,
                              dist.metadata["Name"] if dist else None, _is_builtin(ep))
            try:
                module = ep.load()
                self.pm.register(module, name=ep.name)
            except Exception as exc:  # a broken plugin must not break the CLI
                info.error = f"{type(exc).__name__}: {exc}"
                self.failures.append(info)
                continue
            self.info[ep.name] = info
        self.pm.check_pending()

    def register(self, plugin: Any, name: str) -> None:
        """Register an in-process plugin (tests, embedding applications)."""
        self.pm.register(plugin, name=name)
        self.info[name] = PluginInfo(name, getattr(plugin, "__name__", repr(plugin)), None, None, False)
        self.pm.check_pending()
        self._cache.clear()

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self.info.pop(name, None)
        self._cache.clear()

    # -- calling -------------------------------------------------------------------------
    def hooks_of(self, name: str) -> list[str]:
        plugin = self.pm.get_plugin(name)
        return sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])

    def call_each(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of ``hook`` separately, so one failing plugin is reported
        by name and skipped instead of failing the whole call."""
        results = []
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            args = {k: v for k, v in kwargs.items() if k in impl.argnames}
            try:
                results.append((impl.plugin_name, impl.function(**args)))
            except Exception as exc:
                self._fail(impl.plugin_name, hook, exc)
        return results

    def _fail(self, plugin: str, hook: str, exc: Exception) -> None:
        if os.environ.get("FTX_DEBUG"):
            raise exc
        key = f"{plugin}:{hook}"
        if key not in self._warned:
            self._warned.add(key)
            print(f"ftx: plugin {plugin!r} failed in {hook}: {type(exc).__name__}: {exc}", file=sys.stderr)
            info = self.info.get(plugin)
            if info and not info.error:
                info.error = f"{hook}: {type(exc).__name__}: {exc}"

    def collect(self, kind: str, hook: str) -> dict[str, Any]:
        """Names -> objects added through a ``register`` hook; first registration of a name wins."""
        if kind in self._cache:
            return self._cache[kind]
        found: dict[str, Any] = {}
        owners: dict[str, str] = {}
        current: list[str] = [""]

        def register(obj: Any) -> None:
            name = getattr(obj, "name", None)
            if not name:
                raise TypeError(f"{kind} {obj!r} has no name")
            if name in found:
                print(f"ftx: {kind} {name!r} from plugin {current[0]!r} ignored: "
                      f"already registered by {owners[name]!r}", file=sys.stderr)
                return
            found[name] = obj
            owners[name] = current[0]
            obj.plugin = current[0]

        # pluggy orders implementations last-registered first; built-ins were registered first.
        for impl in reversed(getattr(self.pm.hook, hook).get_hookimpls()):
            current[0] = impl.plugin_name
            try:
                impl.function(register=register)
            except Exception as exc:
                self._fail(impl.plugin_name, hook, exc)
        self._cache[kind] = found
        return found


def _entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=GROUP))


def _is_builtin(ep: metadata.EntryPoint) -> bool:
    return ep.value.startswith("ftx.")


def _allowed(ep: metadata.EntryPoint, wanted: str | None) -> bool:
    if wanted is None:
        return True
    names = {n.strip() for n in wanted.split(",") if n.strip()}
    if not names or names == {"none"}:
        return False
    if "builtin" in names and _is_builtin(ep):
        return True
    return ep.name in names


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


def on_each(hook: str, fn: Callable[[str, Any], None], **kwargs: Any) -> None:
    for name, result in get_plugins().call_each(hook, **kwargs):
        fn(name, result)
