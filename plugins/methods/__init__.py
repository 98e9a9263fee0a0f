"""Built-in training methods: full, lora, qlora, dora, prefix, prompt, ia3."""

from ftx import hookimpl


@hookimpl
def ftx_register_methods(register):
    from .catalog import BUILTIN_METHODS

    for method in BUILTIN_METHODS:
        register(method())
