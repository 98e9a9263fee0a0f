"""The local backend: torch + transformers + peft + trl on this machine (imported lazily)."""

from ftx import hookimpl


@hookimpl
def ftx_register_backends(register):
    from .backend import LocalBackend

    register(LocalBackend())


@hookimpl
def ftx_estimate(backend, recipe, data):
    if backend.name != "local":
        return None
    from .estimate import estimate

    return estimate(backend, recipe, data)


@hookimpl
def ftx_register_price_tables(register):
    from .estimate import price_tables

    for table in price_tables():
        register(table)
