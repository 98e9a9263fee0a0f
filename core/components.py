"""Named things plugins add: data formats, training methods, objectives, backends, price tables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import PluginError
from .pluginmanager import get_plugins

if TYPE_CHECKING:  # pragma: no cover
    from .backends import Backend
    from .formats import DataFormat
    from .methods import TrainingMethod
    from .objectives import Objective


def formats() -> dict[str, "DataFormat"]:
    return get_plugins().collect("format", "ftx_register_formats")


def methods() -> dict[str, "TrainingMethod"]:
    return get_plugins().collect("method", "ftx_register_methods")


def objectives() -> dict[str, "Objective"]:
    return get_plugins().collect("objective", "ftx_register_objectives")


def backends() -> dict[str, "Backend"]:
    return get_plugins().collect("backend", "ftx_register_backends")


def _get(kind: str, name: str, table: dict) -> object:
    if name not in table:
        installed = ", ".join(sorted(table)) or "none"
        raise PluginError(f"unknown {kind} {name!r}; installed: {installed}")
    return table[name]


def get_format(name: str) -> "DataFormat":
    return _get("data format", name, formats())  # type: ignore[return-value]


def get_method(name: str) -> "TrainingMethod":
    return _get("method", name, methods())  # type: ignore[return-value]


def get_objective(name: str) -> "Objective":
    return _get("objective", name, objectives())  # type: ignore[return-value]


def get_backend(name: str) -> "Backend":
    return _get("backend", name, backends())  # type: ignore[return-value]
