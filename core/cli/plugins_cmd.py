"""``ftx plugins``: what is loaded, from where, with which hooks, and what failed."""

from __future__ import annotations

import json
from typing import Any

import click


def _commands_by_plugin(p: Any) -> dict[str, list[str]]:
    """Which commands each plugin adds: its hook is called again on a scratch group, so the
    answer does not depend on what the real ``ftx`` group already holds."""
    out: dict[str, list[str]] = {}
    for impl in p.impls("ftx_register_commands"):
        scratch = click.Group("scratch")
        p._call(impl, "ftx_register_commands", {"cli": scratch})
        if scratch.commands:
            out[impl.plugin_name] = sorted(scratch.commands)
    return out


def plugin_rows() -> list[dict[str, Any]]:
    """Every plugin (loaded or failed) with its version, hooks and what it provides."""
    from ..components import backends, formats, methods, objectives
    from ..pluginmanager import get_plugins

    p = get_plugins()
    provided: dict[str, dict[str, list[str]]] = {}
    for kind, table in (("formats", formats()), ("methods", methods()), ("objectives", objectives()),
                        ("backends", backends())):
        for name, obj in table.items():
            provided.setdefault(getattr(obj, "plugin", "?"), {}).setdefault(kind, []).append(name)
    for plugin, table in p.collect_all("ftx_register_price_tables"):
        provided.setdefault(plugin, {}).setdefault("price_tables", []).append(table.name)
    for plugin, names in _commands_by_plugin(p).items():
        provided.setdefault(plugin, {})["commands"] = names
    rows = []
    for info in list(p.info.values()) + p.failures:
        loaded = p.pm.get_plugin(info.name) is not None and info not in p.failures
        rows.append({
            "name": info.name, "module": info.module, "package": info.dist, "version": info.version,
            "builtin": info.builtin, "loaded": loaded, "hooks": p.hooks_of(info.name) if loaded else [],
            "provides": {k: sorted(v) for k, v in sorted(provided.get(info.name, {}).items())} if loaded else {},
            "error": info.error,
        })
    return rows


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def plugins(as_json: bool) -> None:
    """List loaded plugins, their versions and hooks (and plugins that failed to load)."""
    rows = plugin_rows()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        import os

        why = f"FTX_PLUGINS={os.environ['FTX_PLUGINS']}" if "FTX_PLUGINS" in os.environ else "none installed"
        click.echo(f"no plugins loaded ({why}): no backends, formats or methods; "
                   "only ftx's own commands are available (ftx --help)")
        return
    for row in rows:
        origin = "built-in" if row["builtin"] else (row["package"] or "in-process")
        version = f" {row['version']}" if row["version"] else ""
        click.echo(f"{row['name']}{version} ({origin}, {row['module']})")
        if row["error"]:
            click.echo(f"  FAILED {'in' if row['loaded'] else 'to load:'} {row['error']}")
        if row["hooks"]:
            click.echo(f"  hooks: {', '.join(row['hooks'])}")
        for kind, names in row["provides"].items():
            click.echo(f"  {kind.replace('_', ' ')}: {', '.join(names)}")


COMMANDS = [plugins]
