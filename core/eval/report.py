"""An evaluation's outputs: report.json, report.md, scores.png (bars with 95% intervals) and
examples.jsonl (every answer of every system, scored, so the failures can be read)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..data.atomic import atomic_write

REPORT_JSON, REPORT_MD, CHART, EXAMPLES = "report.json", "report.md", "scores.png", "examples.jsonl"


def _fmt(v: Any) -> str:
    return "-" if v is None else (f"{v:.1f}" if isinstance(v, (int, float)) else str(v))


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# Evaluation: {report['recipe']} on {report['backend']}", "",
             f"Test set: `{report['test']}` ({report['n']} items); primary metric `{report['primary']}`.", ""]
    metrics = report["metrics"]
    lines.append("| system | model | " + " | ".join(metrics) + " |")
    lines.append("| --- | --- | " + " | ".join("---" for _ in metrics) + " |")
    for name, sysrep in report["systems"].items():
        cells = []
        for m in metrics:
            s = sysrep["scores"].get(m) or {}
            ci = s.get("ci")
            cells.append(_fmt(s.get("value")) + (f" [{ci[0]:.1f}, {ci[1]:.1f}]" if ci else ""))
        lines.append(f"| {name} | `{sysrep['model']['name']}` | " + " | ".join(cells) + " |")
    lines += ["", f"**Verdict:** {report['verdict']}", ""]
    comparison = report.get("comparison")
    if comparison:
        lines.append(f"Paired test ({comparison['test']}) tuned vs {comparison['baseline']}: delta "
                     f"{comparison['delta']:+.1f} [{comparison['ci'][0]:+.1f}, {comparison['ci'][1]:+.1f}], "
                     f"p = {comparison['p_value']:.4g}")
    forgetting = report.get("forgetting")
    if forgetting:
        lines += ["", "## Forgetting", ""]
        for key, value in forgetting.items():
            if key not in ("warnings", "harness"):
                lines.append(f"- {key}: {json.dumps(value)}")
        for w in forgetting.get("warnings", []):
            lines.append(f"- **warning:** {w}")
        if forgetting.get("harness"):
            lines += ["", "lm-evaluation-harness, base vs tuned (drop: how much worse the tuned model is):" if
                      any(m["tuned"] is not None for t in forgetting["harness"]["tasks"].values()
                          for m in t["metrics"].values()) else "lm-evaluation-harness, the base model:", ""]
            lines += harness_rows(forgetting["harness"], markdown=True)
    if report.get("warnings"):
        lines += ["", "## Warnings", ""] + [f"- {w}" for w in report["warnings"]]
    return "\n".join(lines) + "\n"


def harness_rows(harness: dict[str, Any], markdown: bool = False) -> list[str]:
    """One line per task and metric: documents, base, tuned, drop (a Markdown table row when asked)."""
    def num(v: Any) -> str:
        return "-" if v is None else f"{v + 0.0:.4g}"  # + 0.0: no "-0"

    rows = ["| task | docs | metric | base | tuned | drop |", "| --- | --- | --- | --- | --- | --- |"] if markdown else []
    for task, t in (harness.get("tasks") or {}).items():
        for metric, m in t["metrics"].items():
            cells = (task, str(t.get("n")), metric, num(m["base"]), num(m["tuned"]), num(m["drop"]))
            tuned = f", tuned {cells[4]}, drop {cells[5]}" if m["tuned"] is not None else ""  # --baseline-only: base alone
            rows.append("| " + " | ".join(cells) + " |" if markdown else
                        f"harness {task} ({cells[1]} docs) {metric}: base {cells[3]}{tuned}")
    return rows


def chart(report: dict[str, Any], path: Path) -> bool:
    """Bars per system and metric with their intervals; False when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    metrics = [m for m in report["metrics"] if m != "perplexity"]
    names = list(report["systems"])
    if not metrics or not names:
        return False
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(metrics) * max(1, len(names)) / 2, 3.6))
    width = 0.8 / len(names)
    for j, name in enumerate(names):
        values, low, high = [], [], []
        for m in metrics:
            s = report["systems"][name]["scores"].get(m) or {}
            v = s.get("value") or 0.0
            ci = s.get("ci") or [v, v]
            values.append(v)
            low.append(max(0.0, v - ci[0]))
            high.append(max(0.0, ci[1] - v))
        xs = [i + j * width for i in range(len(metrics))]
        ax.bar(xs, values, width, yerr=[low, high], capsize=3, label=name)
    ax.set_xticks([i + width * (len(names) - 1) / 2 for i in range(len(metrics))], metrics)
    ax.set_ylabel("points (95% CI)")
    ax.set_ylim(0, 105)
    ax.set_title(f"{report['recipe']} on {report['backend']} (n={report['n']})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write(report: dict[str, Any], rows: list[dict[str, Any]], out_dir: Path) -> dict[str, str]:
    """Write every output to ``out_dir``; return {kind: path}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"report_json": out_dir / REPORT_JSON, "report_md": out_dir / REPORT_MD,
             "examples": out_dir / EXAMPLES}
    report = {**report, "files": {k: str(v) for k, v in files.items()}}
    if chart(report, out_dir / CHART):
        files["chart"] = out_dir / CHART
        report["files"]["chart"] = str(out_dir / CHART)
    with atomic_write(files["examples"]) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    with atomic_write(files["report_md"]) as fh:
        fh.write(markdown(report))
    with atomic_write(files["report_json"]) as fh:
        fh.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return {k: str(v) for k, v in files.items()}
