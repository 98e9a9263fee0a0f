"""Every hook ftx calls, in one place. Plugins implement them with ``@ftx.hookimpl``.

Hooks named ``ftx_register_*`` receive a ``register`` callback and call it once per thing
they add; ftx calls them lazily, the first time it needs that kind of thing, so a plugin's
module should import nothing heavy at its top level (import torch inside the objects it
registers). Implementations may accept fewer arguments than the spec lists.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import click

    from .backends import Backend
    from .estimate import Estimate, PriceTable
    from .eval.metrics import Metric
    from .formats import DataFormat
    from .methods import TrainingMethod
    from .objectives import Objective
    from .recipe import ResolvedRecipe

hookspec = pluggy.HookspecMarker("ftx")


@hookspec
def ftx_register_formats(register: Callable[["DataFormat"], None]) -> None:
    """Add data formats.

    Called the first time ftx reads, validates or converts data. Call
    ``register(fmt)`` with an instance of a :class:`ftx.formats.DataFormat` subclass for
    each format; its ``name`` is what recipes (``data.format``) and ``ftx data convert --to``
    use, and its ``detect()`` score takes part in ``format: auto``. Return nothing.
    """


@hookspec
def ftx_register_methods(register: Callable[["TrainingMethod"], None]) -> None:
    """Add training methods.

    Called the first time a recipe is resolved. Call ``register(method)`` with an
    instance of a :class:`ftx.methods.TrainingMethod` subclass; recipes pick it by name
    (``method: {name: ...}``) and its ``params_model()`` validates the other keys of the
    ``method`` block. Return nothing.
    """


@hookspec
def ftx_register_objectives(register: Callable[["Objective"], None]) -> None:
    """Add training objectives.

    Called the first time a recipe is resolved or data is checked against an objective. Call
    ``register(objective)`` with an instance of a :class:`ftx.objectives.Objective` subclass;
    recipes pick it by name (``objective: NAME``), its ``data_kinds`` say which examples it
    trains on, and its ``training(backend)`` tells a backend how to train it. Return nothing.
    """


@hookspec
def ftx_register_backends(register: Callable[["Backend"], None]) -> None:
    """Add backends that run recipes.

    Called the first time a backend is looked up (``ftx run``, ``ftx estimate``,
    ``ftx plugins``). Call ``register(backend)`` with an instance of a
    :class:`ftx.backends.Backend` subclass; ``ftx run --backend NAME`` selects it. Return nothing.
    """


@hookspec
def ftx_register_price_tables(register: Callable[["PriceTable"], None]) -> None:
    """Add price tables used by cost estimates.

    Called the first time ``ftx estimate`` (or the cost guard of ``ftx run``) needs
    prices. Call ``register(table)`` with a :class:`ftx.estimate.PriceTable`: a dated,
    sourced table of prices for one backend. A table registered later for the same backend and
    model overrides an earlier one. Return nothing.
    """


@hookspec
def ftx_register_metrics(register: Callable[["Metric"], None]) -> None:
    """Add task metrics for ``ftx eval`` (an LLM judge, a domain score...).

    Called the first time an evaluation builds its metrics. Call ``register(metric)`` with an
    instance of a :class:`ftx.eval.metrics.Metric` subclass; recipes name it in
    ``eval.metrics`` (``{name: SETTING}`` calls its ``bind``). Scores are points, 0-100. Return nothing.
    """


@hookspec(firstresult=True)
def ftx_estimate(backend: "Backend", recipe: "ResolvedRecipe", data: dict[str, Any]) -> "Estimate | None":
    """Estimate the cost, time and memory of running ``recipe`` on ``backend``.

    Called once per backend by ``ftx estimate`` and before a paid launch. ``data`` holds
    ``train_set`` and ``validation_set`` (lists of :class:`ftx.example.Example`) when the caller
    loaded them, ``train_examples``/``validation_examples`` (counts), ``train_file`` and, for
    local estimates, ``gpu`` (a device name from the GPU catalog, or ``None`` for every device);
    an estimator given only the counts and file reads the examples itself. Return an
    :class:`ftx.estimate.Estimate`,
    or ``None`` to leave it to another plugin; the first non-``None`` answer wins, so mark
    the implementation ``tryfirst=True`` to override a built-in estimator.
    """


@hookspec
def ftx_register_commands(cli: "click.Group") -> None:
    """Add commands to the ``ftx`` command line.

    Called once at start-up, before arguments are parsed. Add ``click`` commands or groups
    with ``cli.add_command(...)`` or the ``@cli.command()`` decorator. Keep imports inside the
    command function so ``ftx --help`` stays fast. Return nothing.
    """
