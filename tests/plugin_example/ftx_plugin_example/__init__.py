"""ftx-plugin-example: the entry module ftx loads. It imports nothing but ``ftx`` at top
level; each hook imports what it registers, so ``ftx --help`` stays fast."""

from ftx import hookimpl

__version__ = "0.3.1"


@hookimpl
def ftx_register_formats(register):
    from .qa import QaFormat

    register(QaFormat())


@hookimpl
def ftx_register_methods(register):
    from .lora_lite import LoraLite

    register(LoraLite())


@hookimpl
def ftx_register_objectives(register):
    from .answer_only import AnswerOnly

    register(AnswerOnly())


@hookimpl
def ftx_register_backends(register):
    from .echo import EchoBackend

    register(EchoBackend())


@hookimpl
def ftx_register_price_tables(register):
    from .echo import PRICES

    register(PRICES)


@hookimpl
def ftx_estimate(backend, recipe, data):
    if backend.name != "echo":
        return None  # leave other backends to their own estimators
    from .echo import estimate

    return estimate(recipe, data)


@hookimpl
def ftx_register_metrics(register):
    from .brevity import Brevity

    register(Brevity())


@hookimpl
def ftx_register_commands(cli):
    from .commands import example_hello

    cli.add_command(example_hello)
