"""``ftx estimate --plot FILE``: a PNG comparing cost and time per backend/device (matplotlib, Agg).

matplotlib is imported only here, and only the object-oriented API with the Agg canvas is used,
so no global backend is switched and no display is needed.
"""

from __future__ import annotations

from pathlib import Path

from ..estimate import Estimate
from .table import duration, money

FITS, NO_FIT, UNKNOWN = "#2f7ed8", "#d9534f", "#9e9e9e"


def _colour(e: Estimate) -> str:
    return NO_FIT if e.fits is False else FITS if e.fits else UNKNOWN


def _panel(ax, ys, values, rows, xlabel, fmt) -> None:
    """One horizontal bar panel; logarithmic when values span more than 100x (a CPU row taking
    a day would otherwise flatten every GPU row to nothing)."""
    positive = [v for v in values if v]
    top = max(positive, default=1.0)
    log = len(positive) > 1 and top / min(positive) > 100
    low = min(positive) / 3 if log else 0.0
    for y, v, e in zip(ys, values, rows):
        if v is None:
            ax.text(low or 0, y, " n/a", va="center", ha="left", color=UNKNOWN, fontsize=8)
            continue
        if v > low:
            ax.barh(y, v - low, left=low, color=_colour(e), height=0.6)
        ax.text(max(v, low) * (1.08 if log else 1) + (0 if log else top * 0.01), y, fmt(v),
                va="center", ha="left", fontsize=8)
    if log:
        ax.set_xscale("log")
        ax.set_xlim(low, top * 4)
        xlabel = xlabel.replace(")", ", log scale)")
    else:
        ax.set_xlim(0, top * 1.25)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)


def write_plot(estimates: list[Estimate], path: str | Path, title: str | None = None) -> Path:
    """Write the chart to ``path`` (PNG) and return it. Rows without a cost or time are listed
    as "n/a" in that panel; rows that do not fit are drawn in red."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError as exc:
        from .catalog import CostError

        raise CostError("--plot needs matplotlib", hint="pip install matplotlib (or 'ftx[local]')") from exc
    rows = [e for e in estimates if e.available]
    if not rows:
        from .catalog import CostError

        raise CostError("nothing to plot: no backend could be estimated")
    labels = [e.label for e in rows]
    height = max(2.5, 0.45 * len(rows) + 1.4)
    fig = Figure(figsize=(11, height), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    cost_ax, time_ax = fig.subplots(1, 2, sharey=True)
    ys = list(range(len(rows)))[::-1]
    panels = ((cost_ax, [e.cost_usd for e in rows], "cost (USD)", money),
              (time_ax, [None if e.seconds is None else e.seconds / 3600 for e in rows], "time (hours)",
               lambda h: duration(h * 3600)))
    for ax, values, xlabel, fmt in panels:
        _panel(ax, ys, values, rows, xlabel, fmt)
    cost_ax.set_yticks(ys, labels, fontsize=9)
    fig.legend(handles=[Patch(color=FITS, label="fits"), Patch(color=NO_FIT, label="does not fit in memory"),
                        Patch(color=UNKNOWN, label="fit unknown")], loc="outside lower center", ncols=3, fontsize=8)
    fig.suptitle(title or "ftx estimate: cost and time per backend", fontsize=11)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out
