"""``ftx eval compare``: the recorded evaluations of several runs, side by side."""

from __future__ import annotations

from typing import Any

from ..errors import FtxError


def compare_runs(keys: list[str]) -> list[dict[str, Any]]:
    from ..registry import Registry

    rows = []
    with Registry() as registry:
        for key in keys:
            run = registry.get_run(key)
            ev = (run.extra or {}).get("evaluation")
            if not ev:
                raise FtxError(f"run {run.id} has not been evaluated", hint=f"ftx eval {run.id}")
            primary, best = ev["primary"], ev.get("best_baseline")
            tuned = ev["scores"].get("tuned", {}).get(primary, {}).get("value")
            base = ev["scores"].get(best, {}).get(primary, {}).get("value") if best else None
            comparison = ev.get("comparison") or {}
            delta = comparison.get("delta", (tuned or 0) - (base or 0))
            cost = run.actual_cost_usd if run.actual_cost_usd is not None else (0.0 if run.backend == "local" else None)
            rows.append({"run": run.id, "backend": run.backend, "model": run.model, "test": ev.get("test"),
                         "metric": primary, "tuned": tuned, "baseline": best, "baseline_value": base,
                         "delta": delta, "ci": comparison.get("ci"), "cost_usd": cost,
                         "usd_per_point": (cost / delta) if cost is not None and delta and delta > 0 else None,
                         "verdict": ev.get("verdict")})
    return rows
