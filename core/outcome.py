"""A finished run as the registry records it: the typed answer a backend gives about its summary.

``Backend.run()`` returns whatever summary mapping the backend prints and writes; the core never
reads that mapping's keys itself. It asks the backend, through :meth:`ftx.backends.Backend.outcome`,
for a :class:`RunOutcome`, which names the registry's columns (status, metrics, artifacts, output
folder, error). So a backend with other metrics than the local one's records them without a core
change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunOutcome:
    """What a run ended with. ``metrics`` maps metric names to numbers (or small JSON values such
    as a health verdict); ``artifacts`` maps kinds (``adapter``, ``model``, a file label) to paths."""

    status: str = "succeeded"
    metrics: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)
    output_dir: str | None = None
    error: str | None = None

    def registry_fields(self) -> dict[str, Any]:
        """Keyword arguments for ``Registry.update_run``."""
        fields: dict[str, Any] = {"status": self.status, "metrics": dict(self.metrics),
                                  "artifacts": dict(self.artifacts)}
        if self.output_dir:
            fields["output_dir"] = self.output_dir
        if self.error:
            fields["error"] = self.error
        return fields


def generic_outcome(summary: Any, metric_keys: tuple[str, ...] | None = None) -> RunOutcome:
    """The outcome of a summary mapping in ftx's documented shape: ``status``, ``files`` (label ->
    path), ``artifact`` (``{"kind", "path"}``), ``run_dir``, ``error`` and metrics: the keys
    ``metric_keys`` names, or, without it, a ``metrics`` mapping and every other top-level number.
    A summary that is not a mapping succeeded and says nothing more."""
    if isinstance(summary, RunOutcome):
        return summary
    if not isinstance(summary, dict):
        return RunOutcome()
    if metric_keys is not None:
        metrics = {k: summary[k] for k in metric_keys if summary.get(k) is not None}
    else:
        nested = summary.get("metrics")
        metrics = dict(nested) if isinstance(nested, dict) else {}
        metrics.update({k: v for k, v in summary.items()
                        if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in metrics})
    artifacts = dict(summary.get("files") or {})
    artifact = summary.get("artifact")
    if isinstance(artifact, dict) and artifact.get("path"):
        artifacts[artifact.get("kind", "model")] = artifact["path"]
    return RunOutcome(status=summary.get("status", "succeeded"), metrics=metrics, artifacts=artifacts,
                      output_dir=summary.get("run_dir") or None, error=summary.get("error") or None)
