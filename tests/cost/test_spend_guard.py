"""The guard before paid launches: show, cap with --max-cost, need --yes or a "y"."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from ftx.cost.guard import SpendRefused, confirm_spend
from ftx.errors import FtxError
from ftx.estimate import Estimate
from ftx.planning import RunOptions


def plan(**options):
    return SimpleNamespace(backend=SimpleNamespace(name="openai", provider_label="OpenAI"),
                           options=RunOptions(**options))


EST = Estimate(backend="openai", model="gpt-4.1-mini", billable_tokens=1_000_000, epochs=3, cost_usd=5.0,
               assumptions={"price": "$5 per 1M training tokens (test)"})


def guard(p, est, stdin="", **kw):
    """Run the guard with ``stdin`` as the terminal's answers; returns (error, stderr)."""
    runner = CliRunner()
    with runner.isolation(input=stdin) as (_, err, _stderr):
        try:
            confirm_spend(p, est, **kw)
            error = None
        except FtxError as exc:
            error = exc
        return error, err.getvalue().decode()


def test_over_max_cost_refuses_after_showing_the_estimate():
    error, shown = guard(plan(max_cost=4.99, yes=True), EST)
    assert isinstance(error, SpendRefused) and error.exit_code != 0
    assert str(error) == "estimated cost $5.00 on OpenAI exceeds --max-cost $4.99; not launched"
    assert "$5.00" in shown and "gpt-4.1-mini" in shown and "1,000,000" in shown
    assert "price: $5 per 1M training tokens (test)" in shown


def test_limits_below_a_cent_are_shown_exactly():
    cheap = Estimate(backend="openai", model="gpt-4.1-nano", cost_usd=0.0268)
    error, _ = guard(plan(max_cost=0.001, yes=True), cheap)
    assert str(error) == "estimated cost $0.03 on OpenAI exceeds --max-cost $0.001; not launched"


def test_at_or_under_max_cost_with_yes_goes_on():
    assert guard(plan(max_cost=5.0, yes=True), EST)[0] is None


def test_unknown_cost_cannot_pass_a_max_cost():
    unknown = Estimate(backend="openai", model="gpt-x", available=False, notes=["no price"])
    error, _ = guard(plan(max_cost=100.0, yes=True), unknown)
    assert isinstance(error, SpendRefused) and "cannot be checked" in str(error)
    error, shown = guard(plan(max_cost=100.0, yes=True), None)
    assert isinstance(error, SpendRefused) and "unknown" in shown


def test_non_interactive_without_yes_refuses_with_a_hint():
    error, _ = guard(plan(), EST, interactive=False)
    assert isinstance(error, SpendRefused)
    assert "not launched without confirmation" in str(error) and "--yes" in error.hint


@pytest.mark.parametrize("answer, proceeds", [("y\n", True), ("yes\n", True), ("n\n", False), ("\n", False)])
def test_interactive_asks_proceed_default_no(answer, proceeds):
    error, shown = guard(plan(), EST, stdin=answer, interactive=True)
    assert "Proceed? [y/N]" in shown
    assert (error is None) is proceeds
    if not proceeds:
        assert "declined" in str(error)


def test_keyword_arguments_override_the_run_options():
    error, _ = guard(plan(yes=False, max_cost=None), EST, yes=True, max_cost=1.0, interactive=False)
    assert isinstance(error, SpendRefused) and "--max-cost $1.00" in str(error)
    assert guard(plan(yes=False), EST, yes=True, interactive=False)[0] is None
