"""The "Writing a hosted backend" example of docs/plugins.md, built as the package the docs describe
and run through the conformance kit: a backend written from the docs alone works on the first try."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from ftx.testing import register_plugin

DOC = Path(__file__).resolve().parent.parent / "docs" / "plugins.md"


def _blocks() -> dict[str, str]:
    """The section's python blocks, by the name in their first line (``ftx-acme``, ``acme_fake`` ...)."""
    text = DOC.read_text(encoding="utf-8").split("# Writing a hosted backend", 1)[1]
    out, current = {}, None
    for line in text.splitlines():
        if current is None and line.strip() == "```python":
            current = []
        elif current is not None and line.strip() == "```":
            out[current[0].strip('"').split(":", 1)[0]] = "\n".join(current) + "\n"
            current = None
        elif current is not None:
            current.append(line)
    return out


def test_the_documented_hosted_backend_passes_the_conformance_kit(tmp_path, monkeypatch):
    blocks = _blocks()
    assert set(blocks) == {"ftx-acme", "acme_fake", "test_acme"}
    root = tmp_path / "ftx-acme"
    (root / "ftx_acme").mkdir(parents=True)
    (root / "ftx_acme" / "__init__.py").write_text(blocks["ftx-acme"], encoding="utf-8")
    (root / "tests").mkdir()
    (root / "tests" / "acme_fake.py").write_text(blocks["acme_fake"], encoding="utf-8")
    (root / "tests" / "test_acme.py").write_text(blocks["test_acme"], encoding="utf-8")
    (root / "pyproject.toml").write_text('[project]\nname = "ftx-acme"\nversion = "0.1.0"\ndependencies = ["ftx", "httpx"]\n'
                                         '\n[project.entry-points.ftx]\nacme = "ftx_acme"\n', encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.syspath_prepend(str(root / "tests"))
    plugin = importlib.import_module("ftx_acme")
    test = importlib.import_module("test_acme")
    try:
        with register_plugin(plugin, "acme"):
            test.test_acme_conforms(tmp_path)
    finally:
        for name in ("ftx_acme", "test_acme", "acme_fake"):
            sys.modules.pop(name, None)


def test_a_hosted_backend_missing_a_provider_method_is_refused_at_registration(capsys):
    from ftx import hookimpl
    from ftx.components import backends
    from ftx.hosted import HostedBackend, HostedProvider

    class Half(HostedProvider):
        def upload(self, file):  # find_job, create_job, get_job, list_jobs, cancel_job: missing
            return "x"

    class HalfBackend(HostedBackend):
        name = "half"
        provider = Half

        def connect(self, connection):
            return Half()

    class Plugin:
        @hookimpl
        def ftx_register_backends(self, register):
            register(HalfBackend())

    with register_plugin(Plugin(), "half-plugin"):
        assert "half" not in backends()
    err = capsys.readouterr().err
    assert ("plugin 'half-plugin' failed in ftx_register_backends: TypeError: hosted backend 'half': provider Half "
            "does not implement cancel_job, create_job, find_job, get_job, list_jobs") in err
