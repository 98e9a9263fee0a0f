"""Vertex AI through the hosted conformance kit (fake Vertex + the Cloud Storage emulator)."""

from __future__ import annotations

from vertex_test_helpers import TOKEN

from ftx.testing import check_hosted_backend


def test_vertex_conforms(fake_vertex, make_recipe):
    report = check_hosted_backend("vertex", make_recipe(), jobs=lambda: len(fake_vertex.jobs), secret=TOKEN)
    assert report.passed, str(report)
