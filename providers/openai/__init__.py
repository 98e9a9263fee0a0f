"""OpenAI fine-tuning API (and Azure OpenAI, which shares its shape). The SDK is imported lazily."""

from ftx import hookimpl


@hookimpl
def ftx_register_backends(register):
    from .backend import AzureOpenAIBackend, OpenAIBackend

    register(OpenAIBackend())
    register(AzureOpenAIBackend())


@hookimpl
def ftx_estimate(backend, recipe, data):
    if backend.name not in ("openai", "azure-openai"):
        return None
    from .estimate import estimate

    return estimate(backend, recipe, data)


@hookimpl
def ftx_register_price_tables(register):
    from .estimate import price_tables

    for table in price_tables():
        register(table)
