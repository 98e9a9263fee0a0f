"""The local backend: torch + transformers + peft + trl on this machine (imported lazily)."""

from ftx import hookimpl
from ftx.estimate import estimator_hooks


@hookimpl
def ftx_register_backends(register):
    from .backend import LocalBackend

    register(LocalBackend())


@hookimpl
def ftx_register_commands(cli):
    from .commands import export, generate

    for module in (generate, export):
        for command in module.COMMANDS:
            cli.add_command(command)


ftx_estimate, ftx_register_price_tables = estimator_hooks(__name__ + ".estimate", ("local",))
