"""Fireworks AI fine-tuning (supervised and DPO jobs on open-weight models), over its REST API with httpx."""

from ftx import hookimpl
from ftx.estimate import estimator_hooks


@hookimpl
def ftx_register_backends(register):
    from .backend import FireworksBackend

    register(FireworksBackend())


ftx_estimate, ftx_register_price_tables = estimator_hooks(__name__ + ".estimate", ("fireworks",))
