"""The ``ftx`` command line: thin click commands over the core. One module per command group."""

from __future__ import annotations

import os
import sys

import click

from .. import __version__
from ..errors import FtxError


class FtxGroup(click.Group):
    """Turns :class:`FtxError` into one line per problem, no traceback (``FTX_DEBUG=1`` re-raises)."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except FtxError as exc:
            if os.environ.get("FTX_DEBUG"):
                raise
            for line in exc.lines():
                click.echo(f"error: {line}" if not line.startswith("hint:") else line, err=True)
            ctx.exit(exc.exit_code)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """ftx's own commands, then each plugin's under the plugin's name (see ``origins``)."""
        from .origins import format_commands

        format_commands(self, ctx, formatter)


@click.group(cls=FtxGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ftx")
def cli() -> None:
    """ftx: fine-tune LLMs from one recipe, on any backend.

    \b
    Validate data, compare cost, time and memory on every backend, then run:
      ftx data validate train.jsonl
      ftx estimate recipe.yaml
      ftx run recipe.yaml --backend local
    """


def _add_commands() -> None:
    from . import data, estimate, eval, jobs, plugins_cmd, recipes, run, runs

    for module in (data, recipes, estimate, run, runs, jobs, plugins_cmd, eval):
        for command in module.COMMANDS:
            cli.add_command(command)
    from .origins import add_plugin_commands

    add_plugin_commands(cli)


def main() -> None:
    _add_commands()
    try:
        cli.main(prog_name="ftx")
    except FtxError as exc:  # raised outside a command (e.g. while loading plugins)
        if os.environ.get("FTX_DEBUG"):
            raise
        for line in exc.lines():
            click.echo(f"error: {line}", err=True)
        sys.exit(exc.exit_code)
