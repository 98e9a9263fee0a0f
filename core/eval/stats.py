"""Intervals and paired tests, in plain Python (n is a test set, not big data).

* :func:`bootstrap_ci`: percentile bootstrap of a metric's aggregate (examples resampled with
  replacement, the metric re-aggregated each time, so corpus metrics are honest too);
* :func:`paired_bootstrap`: the same resamples applied to two systems' per-example stats at once
  (Koehn 2004; what sacrebleu's ``--paired-bs`` does), giving the delta's interval and a p-value;
* :func:`mcnemar`: McNemar's exact test for two systems' right/wrong answers on the same items.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any, Callable, Sequence

Aggregate = Callable[[Sequence[Any]], float]


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    pos = q * (len(sorted_values) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _indices(n: int, resamples: int, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    return [[rng.randrange(n) for _ in range(n)] for _ in range(resamples)]


def bootstrap_ci(stats: Sequence[Any], aggregate: Aggregate, confidence: float = 0.95,
                 resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """(low, high) percentile interval of ``aggregate(stats)``."""
    n = len(stats)
    if n == 0:
        return (float("nan"), float("nan"))
    values = sorted(aggregate([stats[i] for i in idx]) for idx in _indices(n, resamples, seed))
    alpha = (1 - confidence) / 2
    return (_percentile(values, alpha), _percentile(values, 1 - alpha))


@dataclass
class Paired:
    delta: float  # aggregate(a) - aggregate(b), signed so that positive = a is better
    low: float
    high: float
    p_value: float
    test: str  # "paired bootstrap" or "McNemar"

    def to_dict(self) -> dict[str, Any]:
        return {"delta": round(self.delta, 4), "ci": [round(self.low, 4), round(self.high, 4)],
                "p_value": float(f"{self.p_value:.3g}"), "test": self.test}


def paired_bootstrap(a: Sequence[Any], b: Sequence[Any], aggregate: Aggregate, confidence: float = 0.95,
                     resamples: int = 1000, seed: int = 0, higher_is_better: bool = True) -> Paired:
    """Delta of system ``a`` over ``b`` on the same items, its interval, and the two-sided
    p-value of "no difference" (share of resamples whose delta crosses zero, doubled)."""
    if len(a) != len(b):
        raise ValueError("paired systems must be scored on the same items")
    sign = 1.0 if higher_is_better else -1.0
    delta = sign * (aggregate(a) - aggregate(b))
    deltas = sorted(sign * (aggregate([a[i] for i in idx]) - aggregate([b[i] for i in idx]))
                    for idx in _indices(len(a), resamples, seed))
    alpha = (1 - confidence) / 2
    worse = sum(1 for d in deltas if d <= 0) / len(deltas)
    better = sum(1 for d in deltas if d >= 0) / len(deltas)
    p = min(1.0, 2 * min(worse, better))
    return Paired(delta, _percentile(deltas, alpha), _percentile(deltas, 1 - alpha), p, "paired bootstrap")


def mcnemar(a_right: Sequence[bool], b_right: Sequence[bool]) -> tuple[int, int, float]:
    """(a right & b wrong, a wrong & b right, exact two-sided p-value) for paired outcomes."""
    only_a = sum(1 for x, y in zip(a_right, b_right) if x and not y)
    only_b = sum(1 for x, y in zip(a_right, b_right) if y and not x)
    n = only_a + only_b
    if n == 0:
        return only_a, only_b, 1.0
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return only_a, only_b, min(1.0, 2 * tail)
