"""The ``ftx`` command line: thin click commands over the core. One module per command group."""

from __future__ import annotations

import os
import sys

import click

from .. import __version__
from ..errors import FtxError


# ftx's own commands: name -> the module (of this package) whose COMMANDS holds it. A module is
# imported only when its command runs or help lists it, so ``ftx runs list`` does not import
# what ``ftx data`` or ``ftx eval`` need.
OWN = {"data": "data", "recipes": "recipes", "estimate": "estimate", "run": "run", "runs": "runs",
       "jobs": "jobs", "plugins": "plugins_cmd", "eval": "eval"}


class FtxGroup(click.Group):
    """Turns :class:`FtxError` into one line per problem, no traceback (``FTX_DEBUG=1`` re-raises).

    ftx's own commands are loaded on first use (``OWN``); a command a plugin added under the same
    name stays in front of ftx's, as when every command was added at start-up."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(self.commands) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            import importlib

            module = importlib.import_module(f"{__name__}.{self.lazy.pop(cmd_name)}")
            for command in module.COMMANDS:
                self.commands.setdefault(command.name, command)
        return self.commands.get(cmd_name)

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
    for name, module in OWN.items():
        if name not in cli.commands:
            cli.lazy[name] = module
    from .origins import add_plugin_commands

    add_plugin_commands(cli)


def main() -> None:
    _freeze_at_exit()
    _add_commands()
    try:
        cli.main(prog_name="ftx")
    except FtxError as exc:  # raised outside a command (e.g. while loading plugins)
        if os.environ.get("FTX_DEBUG"):
            raise
        for line in exc.lines():
            click.echo(f"error: {line}", err=True)
        sys.exit(exc.exit_code)


def _freeze_at_exit() -> None:
    """When the interpreter shuts down, after the other exit handlers (registered later, run
    earlier), freeze what is alive: shutdown runs full garbage collections that would each scan
    every object still alive (after ``ftx run`` on 100k examples, millions: ~0.2 s in all).
    Frozen objects are freed as usual when nothing refers to them; only the collector skips
    them, so garbage in reference cycles left at exit is not finalized (ftx closes and flushes
    what it writes explicitly, and its own exit handlers, registered later, run before this
    one). A process that calls :func:`main` and goes on is untouched until it ends."""
    import atexit
    import gc

    atexit.unregister(gc.freeze)  # once, however often main() runs
    atexit.register(gc.freeze)
