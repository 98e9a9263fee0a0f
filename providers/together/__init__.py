"""Together AI fine-tuning (open-weight models, LoRA and full, SFT and DPO). The SDK is imported lazily."""

from ftx import hookimpl
from ftx.estimate import estimator_hooks


@hookimpl
def ftx_register_backends(register):
    from .backend import TogetherBackend

    register(TogetherBackend())


ftx_estimate, ftx_register_price_tables = estimator_hooks(__name__ + ".estimate", ("together",))
