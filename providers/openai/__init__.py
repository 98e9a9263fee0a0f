"""OpenAI fine-tuning API (and Azure OpenAI, which shares its shape). The SDK is imported lazily."""

from ftx import hookimpl
from ftx.estimate import estimator_hooks


@hookimpl
def ftx_register_backends(register):
    from .backend import AzureOpenAIBackend, OpenAIBackend

    register(OpenAIBackend())
    register(AzureOpenAIBackend())


ftx_estimate, ftx_register_price_tables = estimator_hooks(__name__ + ".estimate", ("openai", "azure-openai"))
