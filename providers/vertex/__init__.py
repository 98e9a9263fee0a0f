"""Vertex AI tuning (Gemini) through google-genai and GCS; imported lazily."""

from ftx import hookimpl


@hookimpl
def ftx_register_backends(register):
    from .backend import VertexBackend

    register(VertexBackend())
