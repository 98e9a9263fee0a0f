"""The local backend: torch + transformers + peft + trl on this machine (imported lazily)."""

from ftx import hookimpl


@hookimpl
def ftx_register_backends(register):
    from .backend import LocalBackend

    register(LocalBackend())
