from __future__ import annotations

import math

import pytest

from ftx.eval import stats


def mean(xs):
    return sum(xs) / len(xs)


def test_bootstrap_interval_brackets_the_mean_and_shrinks_with_n():
    small = [100.0, 0.0] * 10
    large = small * 10
    lo1, hi1 = stats.bootstrap_ci(small, mean)
    lo2, hi2 = stats.bootstrap_ci(large, mean)
    assert lo1 < 50 < hi1 and lo2 < 50 < hi2
    assert (hi2 - lo2) < (hi1 - lo1)
    assert stats.bootstrap_ci(small, mean) == (lo1, hi1)  # seeded


def test_mcnemar_exact_matches_the_binomial_tail():
    a = [True] * 10 + [False] * 2 + [True] * 5
    b = [False] * 10 + [True] * 2 + [True] * 5
    only_a, only_b, p = stats.mcnemar(a, b)
    assert (only_a, only_b) == (10, 2)
    expected = 2 * sum(math.comb(12, i) for i in range(3)) / 2 ** 12
    assert p == pytest.approx(expected)  # 0.0386
    assert stats.mcnemar(a, a)[2] == 1.0


def test_paired_bootstrap_sign_and_significance():
    better = [100.0] * 30 + [0.0] * 10
    worse = [0.0] * 30 + [0.0] * 10
    paired = stats.paired_bootstrap(better, worse, mean)
    assert paired.delta == pytest.approx(75.0) and paired.low > 0 and paired.p_value < 0.05
    same = stats.paired_bootstrap(worse, worse, mean)
    assert same.delta == 0 and same.p_value == 1.0
    # lower-is-better metrics: the sign follows "better"
    assert stats.paired_bootstrap([1.0] * 5, [2.0] * 5, mean, higher_is_better=False).delta == 1.0
