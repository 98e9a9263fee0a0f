"""OpenAI fine-tuning API (and Azure OpenAI, which shares its shape). The SDK is imported lazily."""

from ftx import hookimpl


@hookimpl
def ftx_register_backends(register):
    from .backend import OpenAIBackend

    register(OpenAIBackend())
