"""Which plugin added which command, so ``ftx --help`` lists plugin commands under their plugin.

Every ``ftx_register_commands`` implementation is called on its own (as ``call_each`` does); the
commands it leaves on the group are its. ftx's own commands have no plugin.
"""

from __future__ import annotations

from typing import Any

import click

# command name -> the plugin that added it (absent: one of ftx's own commands)
ORIGINS: dict[str, str] = {}


def add_plugin_commands(group: click.Group) -> None:
    from ..pluginmanager import get_plugins

    plugins = get_plugins()
    for impl in plugins.impls("ftx_register_commands"):
        before = dict(group.commands)
        plugins._call(impl, "ftx_register_commands", {"cli": group})
        for name, command in group.commands.items():
            if before.get(name) is not command:
                ORIGINS[name] = impl.plugin_name


def format_commands(group: click.Group, ctx: click.Context, formatter: click.HelpFormatter) -> None:
    rows: dict[str | None, list[tuple[str, str]]] = {}
    width = formatter.width - 6 - max((len(n) for n in group.list_commands(ctx)), default=0)
    for name in group.list_commands(ctx):
        command: Any = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        rows.setdefault(ORIGINS.get(name), []).append((name, command.get_short_help_str(limit=max(width, 20))))
    if None in rows:
        with formatter.section("Commands"):
            formatter.write_dl(rows.pop(None))
    for plugin in sorted(rows, key=str):
        with formatter.section(f"Commands from plugin {plugin}"):
            formatter.write_dl(rows[plugin])
