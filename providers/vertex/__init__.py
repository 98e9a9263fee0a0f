"""Vertex AI tuning (Gemini) through google-genai and GCS; imported lazily."""

from ftx import hookimpl


@hookimpl
def ftx_register_backends(register):
    from .backend import VertexBackend

    register(VertexBackend())


@hookimpl
def ftx_estimate(backend, recipe, data):
    if backend.name != "vertex":
        return None
    from .estimate import estimate

    return estimate(backend, recipe, data)


@hookimpl
def ftx_register_price_tables(register):
    from .estimate import price_tables

    for table in price_tables():
        register(table)
