"""Entry points of the groups ftx reads, without importing ``importlib.metadata`` on every start.

``importlib.metadata.entry_points()`` imports ``email``, ``zipfile`` and ``csv`` and then reads the
``entry_points.txt`` of every installed distribution: together about a third of what ``ftx --help``
cost. The answer only changes when a distribution is installed, removed or rewritten, so it is kept
in ``<ftx home>/cache/entry_points.json`` under a key that says what is installed: every
``sys.path`` entry, and in each folder every ``*.dist-info`` / ``*.egg-info`` (whose names carry the
version) with the modification time and size of its ``entry_points.txt``. pip writes a new
dist-info on every install, upgrade or editable reinstall and deletes it on uninstall, so any of
those changes the key and the next start reads the metadata again. Reading the key costs a
``scandir`` per path entry and one ``stat`` per distribution (a few milliseconds here, with ~380
dist-info folders on the path, against ~30 ms for importing and scanning).

Where the key cannot be trusted the cache is not used: a path entry that is an ``.egg``, or an
import finder that can report distributions other than the standard path finder (or the
``importlib_metadata`` backport's, which reads the same folders).
"""

from __future__ import annotations

import json
import os
import re
import sys
from typing import Any

# The groups kept: ftx's plugins, and pydantic's (pydantic reads its plugin group on the first
# model it builds; with none installed, ftx tells it so; see ``quiet_pydantic_plugins``).
GROUPS = ("ftx", "pydantic")
VERSION = 2
_PATTERN = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")
_FILES = ("entry_points.txt",)


class CachedDist:
    """The little of ``importlib.metadata.Distribution`` that plugin loading reads."""

    def __init__(self, name: str, version: str | None) -> None:
        self.name = name
        self.version = version
        self.metadata = {"Name": name}

    def __repr__(self) -> str:
        return f"<dist {self.name} {self.version}>"


class CachedEntryPoint:
    """An entry point replayed from the cache; ``load()`` as ``importlib.metadata.EntryPoint``'s."""

    def __init__(self, name: str, value: str, group: str, dist: CachedDist | None) -> None:
        self.name, self.value, self.group, self.dist = name, value, group, dist

    def load(self) -> Any:
        import importlib

        match = _PATTERN.match(self.value)
        if match is None:
            raise ValueError(f"entry point {self.name!r} has an invalid value {self.value!r}")
        obj: Any = importlib.import_module(match.group("module"))
        for attr in filter(None, (match.group("attr") or "").split(".")):
            obj = getattr(obj, attr)
        return obj

    def __repr__(self) -> str:
        return f"CachedEntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"


def _stat(path: str) -> list[int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def _reads_sys_path(finder: Any) -> bool:
    """Whether ``finder`` finds distributions only as the standard path finder does, in the
    ``*.dist-info`` folders on ``sys.path`` that the key covers: the standard library's, and the
    ``importlib_metadata`` backport's ``MetadataPathFinder``, which libraries such as mlflow
    install on import."""
    if getattr(finder, "__name__", "") == "PathFinder":
        return True
    cls = type(finder)
    return cls.__name__ == "MetadataPathFinder" and cls.__module__.split(".")[0] == "importlib_metadata"


def install_key() -> list[Any] | None:
    """What is installed, as far as entry points go; ``None`` where that cannot be told cheaply."""
    for finder in sys.meta_path:
        if hasattr(finder, "find_distributions") and not _reads_sys_path(finder):
            return None
    key: list[Any] = [VERSION, sys.version]
    for entry in sys.path:
        folder = entry or "."
        if folder.lower().endswith(".egg"):
            return None
        try:
            children = sorted(os.scandir(folder), key=lambda c: c.name)
        except NotADirectoryError:
            key.append([entry, _stat(folder)])  # a zip: its stat says whether it changed
            continue
        except OSError:
            key.append([entry, None])
            continue
        found: list[Any] = []
        for child in children:
            low = child.name.lower()
            if not low.endswith((".dist-info", ".egg-info")):
                continue
            if child.is_dir():  # its name carries the version; its entry_points.txt the answer
                found.append([child.name, *(_stat(os.path.join(child.path, f)) for f in _FILES)])
            else:
                found.append([child.name, _stat(child.path)])
        key.append([entry, os.path.abspath(folder), found])
    return key


def _cache_file() -> str:
    from .home import ftx_home

    return os.path.join(ftx_home(), "cache", "entry_points.json")


def _scan() -> dict[str, list[list[Any]]]:
    """Every entry point of ``GROUPS``, read from the installed metadata (the slow way)."""
    from importlib import metadata

    out: dict[str, list[list[Any]]] = {g: [] for g in GROUPS}
    for group in GROUPS:
        for ep in metadata.entry_points(group=group):
            dist = getattr(ep, "dist", None)
            out[group].append([ep.name, ep.value, str(dist.metadata["Name"]) if dist is not None else None,
                               dist.version if dist is not None else None])
    return out


# Read once per process: ``forget()`` (called by ``ftx.pluginmanager.reset_plugins``) after
# installing or removing a plugin in-process.
_memo: tuple[list[Any] | None, dict[str, list[list[Any]]]] | None = None


def forget() -> None:
    global _memo
    _memo = None


KEEP = 4  # answers kept: ``ftx``, ``python -m ftx`` and tests each start with another sys.path


def _table() -> dict[str, list[list[Any]]]:
    global _memo
    if _memo is not None:
        return _memo[1]
    key = install_key()
    table = None
    path = None
    kept: list[Any] = []
    if key is not None:
        try:
            path = _cache_file()
            with open(path, encoding="utf-8") as f:
                kept = json.load(f)["answers"]
            table = next((a["groups"] for a in kept if a["key"] == key), None)
        except (OSError, ValueError, KeyError, TypeError, StopIteration):
            table, kept = None, []
    if table is None:
        table = _scan()
        if key is not None and path is not None:
            _write(path, {"answers": [{"key": key, "groups": table}, *kept][:KEEP]})
    _memo = (key, table)
    return table


def _write(path: str, payload: dict[str, Any]) -> None:
    """Atomically, and silently not at all where the home cannot be written (the cache is only
    a shortcut)."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(payload, f)
        os.replace(tmp, path)
    except OSError:
        pass


def entry_points(group: str) -> list[CachedEntryPoint]:
    """The entry points of ``group`` (one of ``GROUPS``), in ``importlib.metadata``'s order."""
    dists: dict[tuple[Any, Any], CachedDist] = {}
    out = []
    for name, value, dist_name, version in _table()[group]:
        dist = None
        if dist_name is not None:
            dist = dists.setdefault((dist_name, version), CachedDist(dist_name, version))
        out.append(CachedEntryPoint(name, value, group, dist))
    return out


def quiet_pydantic_plugins() -> None:
    """Spare pydantic its own scan of every installed distribution when no pydantic plugin is
    installed: its loader keeps the plugins it found in ``_plugins`` and scans only while that is
    ``None``. Set once pydantic's loader is imported (see ``_PydanticHook``); with a pydantic
    plugin installed, or ``PYDANTIC_DISABLE_PLUGINS`` set, pydantic is left to do as it does."""
    if os.environ.get("PYDANTIC_DISABLE_PLUGINS") is not None or "pydantic.plugin._loader" in sys.modules:
        return
    try:
        if _table()["pydantic"]:
            return
    except Exception:
        return
    if not any(isinstance(f, _PydanticHook) for f in sys.meta_path):
        sys.meta_path.insert(0, _PydanticHook())


class _PydanticHook:
    """Import hook: once ``pydantic.plugin._loader`` has run, tell it there are no plugins."""

    TARGET = "pydantic.plugin._loader"

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.TARGET:
            return None
        sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module: Any) -> None:
            # The loader imports ``entry_points`` from importlib.metadata, which pulls in email,
            # zipfile and csv (~8 ms), to call it only while ``_plugins`` is None, which the line
            # after it rules out. While it runs it gets a stand-in that imports the real
            # function on first call (if ``_plugins`` is ever reset), then the stand-in goes.
            stand_in = None
            if "importlib.metadata" not in sys.modules:
                import types

                stand_in = types.ModuleType("importlib.metadata")
                stand_in.entry_points = _entry_points_on_call  # type: ignore[attr-defined]
                sys.modules["importlib.metadata"] = stand_in
            try:
                original(module)
            finally:
                if stand_in is not None and sys.modules.get("importlib.metadata") is stand_in:
                    del sys.modules["importlib.metadata"]
            if getattr(module, "_plugins", ...) is None:
                module._plugins = {}

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _entry_points_on_call(*args: Any, **kwargs: Any) -> Any:
    """``importlib.metadata.entry_points``, imported when first called (see ``_PydanticHook``)."""
    from importlib.metadata import entry_points as real

    return real(*args, **kwargs)

