"""``ftx example-hello``: proves a plugin can add commands."""

from __future__ import annotations

import click


@click.command("example-hello")
@click.option("--name", default="world", show_default=True, help="who to greet")
def example_hello(name: str) -> None:
    """Say hello from ftx-plugin-example."""
    from . import __version__

    click.echo(f"hello {name} from ftx-plugin-example {__version__}")
