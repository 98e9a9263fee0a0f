"""OpenAI and Azure OpenAI through the hosted conformance kit (the scenarios every hosted backend
passes: faults on every call, lost create, kill after create, detach/reattach, cancel, already
trained, key never written); HTTP-level faults of the real SDK stay in test_openai_faults.py."""

from __future__ import annotations

from fakes.openai_server import FakeOpenAI
from openai_test_helpers import API_KEY

from ftx.hosted.conformance import SCENARIOS
from ftx.testing import check_hosted_backend


def test_openai_conforms(monkeypatch, make_recipe):
    recipe = make_recipe()
    with FakeOpenAI(lifetime=300) as server:
        env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": API_KEY, "FTX_TODAY": "2026-11-23"}
        report = check_hosted_backend("openai", recipe, jobs=lambda: len(server.jobs), secret=API_KEY, env=env,
                                      scenarios=[s for s in SCENARIOS if s != "cancel"])
    assert report.passed, str(report)
    # The fake's jobs run on wall-clock time; cancelling needs one that only moves when told to.
    with FakeOpenAI(clock="manual", lifetime=300) as server:
        env = {"OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": API_KEY, "FTX_TODAY": "2026-11-23"}
        report = check_hosted_backend("openai", recipe, jobs=lambda: len(server.jobs), secret=API_KEY, env=env,
                                      scenarios=["cancel"])
    assert report.passed, str(report)
