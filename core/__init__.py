"""ftx: a fine-tuning orchestrator for LLMs."""

__version__ = "0.1.0"

from .hookimpl import hookimpl

__all__ = ["hookimpl", "__version__"]
