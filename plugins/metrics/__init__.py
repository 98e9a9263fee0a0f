"""Built-in task metrics, registered like any plugin's (``ftx_register_metrics``)."""

from ftx import hookimpl


@hookimpl
def ftx_register_metrics(register):
    from .builtin import BUILTIN

    for metric in BUILTIN:
        register(metric)
