"""Helpers for testing plugins in-process, without installing them.

    from ftx.testing import register_plugin

    def test_my_format():
        import my_plugin
        with register_plugin(my_plugin):
            fmt = ftx.components.get_format("my-format")
            ...
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from .pluginmanager import Plugins, get_plugins


@contextmanager
def register_plugin(plugin: Any, name: str | None = None) -> Iterator[Plugins]:
    """Register ``plugin`` (a module or an object with ``@ftx.hookimpl`` methods) with the
    process-wide plugin manager for the duration of the ``with`` block, then unregister it.

    Yields the :class:`~ftx.pluginmanager.Plugins` manager. Raises
    :class:`~ftx.errors.PluginError` when the plugin is invalid (a misspelt hook name, a hook
    argument ftx does not pass, a name already taken)."""
    plugins = get_plugins()
    registered = plugins.register(plugin, name)
    try:
        yield plugins
    finally:
        if plugins.pm.get_plugin(registered) is not None:
            plugins.unregister(registered)


def check_hosted_backend(*args: Any, **kwargs: Any) -> Any:
    """The conformance kit for hosted backends (:func:`ftx.hosted.conformance.check_hosted_backend`)."""
    from .hosted.conformance import check_hosted_backend as check

    return check(*args, **kwargs)
