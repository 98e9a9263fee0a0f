"""``ftx estimate --plot``: a readable PNG."""

from __future__ import annotations

import pytest

from ftx.cost.catalog import CostError
from ftx.cost.plot import write_plot
from ftx.estimate import Estimate

PNG = b"\x89PNG\r\n\x1a\n"


def _size(path):
    data = path.read_bytes()
    assert data[:8] == PNG and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_write_plot_makes_a_valid_png_without_a_display(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    rows = [Estimate("local", "m", cost_usd=0.0, seconds=3600, fits=True, device="CPU x2"),
            Estimate("local", "m", cost_usd=1.5, seconds=600, fits=False, device="T4"),
            Estimate("openai", "gpt", cost_usd=12.0, fits=True),
            Estimate("vertex", None, available=False, notes=["no model"])]
    out = write_plot(rows, tmp_path / "sub" / "chart.png")
    width, height = _size(out)
    assert width >= 800 and height >= 250
    with pil.open(out) as img:
        img.verify()


def test_nothing_to_plot_is_an_error(tmp_path):
    with pytest.raises(CostError, match="nothing to plot"):
        write_plot([Estimate("vertex", None, available=False)], tmp_path / "x.png")


def test_cli_plot_option_writes_the_chart(cli, tmp_path):
    out = tmp_path / "costs.png"
    r = cli("estimate", "quickstart", "--plot", str(out))
    assert r.exit_code == 0, r
    assert _size(out)[0] > 0 and f"wrote {out}" in r.stdout
