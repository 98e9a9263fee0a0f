"""``ftx plugins``: what is loaded, from where, with which hooks."""

from __future__ import annotations

import json

import click


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def plugins(as_json: bool) -> None:
    """List loaded plugins, their versions and hooks (and plugins that failed to load)."""
    from ..components import backends, formats, methods
    from ..pluginmanager import get_plugins

    p = get_plugins()
    provided: dict[str, dict[str, list[str]]] = {}
    for kind, table in (("formats", formats()), ("methods", methods()), ("backends", backends())):
        for name, obj in table.items():
            provided.setdefault(getattr(obj, "plugin", "?"), {}).setdefault(kind, []).append(name)
    rows = []
    for info in list(p.info.values()) + p.failures:
        rows.append({
            "name": info.name, "module": info.module, "package": info.dist, "version": info.version,
            "builtin": info.builtin, "hooks": p.hooks_of(info.name) if not info.error or p.pm.has_plugin(info.name) else [],
            "provides": provided.get(info.name, {}), "error": info.error,
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        origin = "built-in" if row["builtin"] else (row["package"] or "in-process")
        click.echo(f"{row['name']} {row['version'] or ''} ({origin}, {row['module']})".replace("  ", " "))
        if row["error"]:
            click.echo(f"  FAILED: {row['error']}")
        if row["hooks"]:
            click.echo(f"  hooks: {', '.join(row['hooks'])}")
        for kind, names in sorted(row["provides"].items()):
            click.echo(f"  {kind}: {', '.join(sorted(names))}")


COMMANDS = [plugins]
