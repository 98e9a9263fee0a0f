"""Together AI through the conformance kit: faults on every call, a lost create, a kill right after
the create, detach/reattach, cancel, already-trained, and the key written nowhere."""

from __future__ import annotations

from conftest import API_KEY

from ftx.testing import check_hosted_backend


def test_together_conforms(fake_together):
    report = check_hosted_backend("together", "quickstart", jobs=lambda: len(fake_together.jobs), secret=API_KEY)
    assert report.passed, str(report)
