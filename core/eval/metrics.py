"""Task metrics: the :class:`Metric` contract and the registry plugins fill (``ftx_register_metrics``).

Every metric reports *points* on a 0-100 scale (perplexity, lower-better, is the exception), so
deltas and intervals read the same across metrics. A metric scores each example
(:meth:`Metric.score`) and aggregates a set of examples (:meth:`Metric.aggregate`, default: the
mean); corpus-level metrics (BLEU, chrF, macro F1) override :meth:`aggregate`, and the bootstrap
resamples examples and re-aggregates, so their intervals are honest too.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

from ..errors import Problem, RecipeError


class Metric:
    """Base class for metrics. Subclasses set ``name`` and implement :meth:`score`.

    * ``higher_is_better``: direction used by comparisons and the verdict;
    * ``binary``: every per-example score is 0 or 100 (a paired comparison uses McNemar's test);
    * ``needs_model``: scored from the model's token probabilities (perplexity), not its answers;
    * ``setting``: what ``{name: SETTING}`` in ``eval.metrics`` configured (see :meth:`bind`).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    higher_is_better: ClassVar[bool] = True
    binary: ClassVar[bool] = False
    needs_model: ClassVar[bool] = False
    setting: Any = None

    @property
    def label(self) -> str:
        return self.name if self.setting is None else f"{self.name}({self.setting})"

    def bind(self, setting: Any, base_dir: str | None = None) -> "Metric":
        """A copy configured by ``{name: setting}``; ``base_dir`` resolves relative files.
        Metrics that take no setting refuse one."""
        raise ValueError(f"metric {self.name!r} takes no setting")

    def score(self, prediction: str, reference: str | None) -> float:
        """Points (0-100) for one answer against its reference."""
        raise NotImplementedError

    def example_stats(self, prediction: str, reference: str | None) -> Any:
        """What :meth:`aggregate` needs per example; default: the :meth:`score`."""
        return self.score(prediction, reference)

    def aggregate(self, stats: Sequence[Any]) -> float:
        """The metric over a set of examples from their :meth:`example_stats` (default: mean)."""
        return sum(stats) / len(stats) if stats else 0.0


def metrics() -> dict[str, Metric]:
    """Every registered metric by name (built-ins and plugins' ``ftx_register_metrics``)."""
    from ..pluginmanager import get_plugins

    return get_plugins().collect("metric", "ftx_register_metrics")


def build_metrics(items: Sequence[Any], base_dir: str | None = None,
                  where: Any = None) -> list[Metric]:
    """Metric objects for ``eval.metrics`` items (a name, or ``{name: setting}``). Unknown names
    and bad settings raise one :class:`RecipeError` naming each item (file:line via ``where``)."""
    import copy

    table = metrics()
    out: list[Metric] = []
    problems: list[Problem] = []
    for i, item in enumerate(items):
        name, setting = (next(iter(item.items())) if isinstance(item, dict) else (item, None))
        file, line = where(("eval", "metrics", i)) if where else (None, None)
        metric = table.get(str(name))
        if metric is None:
            problems.append(Problem(f"unknown metric {name!r}; installed: {', '.join(sorted(table))}",
                                    file, line, f"eval.metrics.{i}"))
            continue
        try:
            out.append(metric.bind(setting, base_dir) if setting is not None else copy.copy(metric))
        except (ValueError, OSError) as exc:
            problems.append(Problem(str(exc), file, line, f"eval.metrics.{i}"))
    if problems:
        raise RecipeError(problems=problems)
    return out
