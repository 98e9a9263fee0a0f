"""Vertex AI tuning (Gemini) through google-genai and GCS; imported lazily."""

from ftx import hookimpl
from ftx.estimate import estimator_hooks


@hookimpl
def ftx_register_backends(register):
    from .backend import VertexBackend

    register(VertexBackend())


ftx_estimate, ftx_register_price_tables = estimator_hooks(__name__ + ".estimate", ("vertex",))
