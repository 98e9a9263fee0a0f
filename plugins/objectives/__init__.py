"""Built-in objectives: sft and dpo (one module each). ORPO and KTO are plugins of their own
(:mod:`.orpo`, :mod:`.kto`, entry points ``orpo`` and ``kto``), written as a third party would."""

from ftx import hookimpl


@hookimpl
def ftx_register_objectives(register):
    from .dpo import Dpo
    from .sft import Sft

    register(Sft())
    register(Dpo())
