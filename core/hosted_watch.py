"""Follow a hosted job to its end: poll, record events, show progress, then record the outcome
(status, fine-tuned model, metrics.jsonl, actual cost). Shared by ``ftx run`` and ``ftx jobs``.

``FTX_POLL_INTERVAL`` (seconds) overrides each backend's polling interval.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import BackendError
from .hosted.contract import HostedBackend, HostedProvider, RemoteEvent, RemoteJob
from .hosted.errors import ProviderError
from .hosted.retry import retrying

_LEVELS = {"warn": "warning", "warning": "warning", "error": "error", "debug": "debug"}


def poll_interval(backend: HostedBackend) -> float:
    try:
        return max(0.0, float(os.environ["FTX_POLL_INTERVAL"]))
    except (KeyError, ValueError):
        return float(getattr(backend, "poll_interval", 10.0))


@dataclass
class Outcome:
    """How a followed run ended (or that the user detached from it)."""

    run_id: str
    job_id: str | None
    status: str
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    actual_cost_usd: float | None = None
    estimated_cost_usd: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    metrics_file: str | None = None
    error: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    detached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Session:
    """A run being followed: its backend, a connected provider and the open registry."""

    backend: HostedBackend
    provider: HostedProvider
    registry: Any
    run_id: str

    @property
    def run(self) -> Any:
        return self.registry.get_run(self.run_id)

    def label(self) -> str:
        return getattr(self.backend, "provider_label", self.backend.name)


def open_session(registry: Any, run: Any) -> Session:
    """Connect to the provider of a recorded hosted run (settings from the registry, secrets
    from the environment)."""
    from .components import get_backend

    backend = get_backend(run.backend)
    if not isinstance(backend, HostedBackend):
        raise BackendError(f"run {run.id} is on backend {run.backend!r}, which is not hosted; "
                           "use `ftx runs show` for local runs")
    if not run.remote_job_id:
        raise BackendError(f"run {run.id} has no remote job yet (status {run.status})",
                           hint="re-run the same `ftx run` command: it continues where it stopped")
    return Session(backend, backend.connect(dict(run.extra.get("connection") or {})), registry, run.id)


def sync(session: Session, with_checkpoints: bool = True) -> tuple[RemoteJob, list[RemoteEvent], list | None]:
    """One poll: read the job and its new events, record both in the registry."""
    run = session.run
    label = session.label()
    job = retrying(f"reading {label} job {run.remote_job_id}", session.provider.get_job, run.remote_job_id)
    events = retrying(f"reading events of {label} job {job.id}", session.provider.events_since,
                      job.id, run.extra.get("last_event_id"))
    reg = session.registry
    for event in events:
        if not event.metrics:  # per-step metrics go to metrics.jsonl, not the history
            reg.add_event(run.id, _LEVELS.get(event.level, "info"), f"{label}: {event.message}")
    extra: dict[str, Any] = {"provider_status": job.provider_status}
    if events:
        extra["last_event_id"] = events[-1].id
        steps = [e.metrics for e in events if e.metrics]
        if steps:
            extra["last_metrics"] = steps[-1]
    checkpoints = None
    if with_checkpoints and job.status in ("running", "succeeded"):
        checkpoints = retrying(f"reading checkpoints of {label} job {job.id}", session.provider.checkpoints, job.id)
        extra["checkpoints"] = [{"id": c.id, "step": c.step, "model": c.model} for c in checkpoints]
    reg.merge_json(run.id, "extra", extra)
    if job.status != run.status and not job.finished:
        reg.update_run(run.id, status=job.status)
        reg.add_event(run.id, "info", f"{label} job {job.id}: {job.provider_status}")
    return job, events, checkpoints


def follow(session: Session, live: bool | None = None) -> Outcome:
    """Poll until the job ends, showing it live; Ctrl-C detaches (the job keeps running)."""
    from .hosted_view import JobView

    from .tracking.hosted import HostedStream

    interval = poll_interval(session.backend)
    run = session.run
    view = JobView(session.label(), run.id, live=live)
    stream = HostedStream.open(session)  # the recipe's trackers (ftx.tracking), if any
    try:
        with view:
            while True:
                job, events, checkpoints = sync(session)
                stream.events(events)
                view.update(job, events, checkpoints)
                if job.finished:
                    break
                time.sleep(interval)
    except KeyboardInterrupt:
        stream.detach()
        return detach(session)
    outcome = finish(session, job, view.console)
    stream.finish(outcome)
    return outcome


def detach(session: Session) -> Outcome:
    """Stop following without cancelling; say how to come back."""
    from rich.console import Console

    run = session.run
    session.registry.add_event(run.id, "info", "detached from the job; it keeps running")
    Console(stderr=True).print(
        f"\ndetached: {session.label()} job {run.remote_job_id} keeps running (run {run.id}).\n"
        f"  follow it again:  ftx jobs wait {run.id}\n"
        f"  cancel it:        ftx jobs cancel {run.id}", highlight=False, markup=False)
    return Outcome(run.id, run.remote_job_id, run.status, estimated_cost_usd=run.estimated_cost_usd, detached=True)


def output_dir(run: Any) -> Path:
    from .home import ftx_home

    return Path(run.output_dir) if run.output_dir else ftx_home() / "runs" / run.id


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Final values: the last value of each metric over the rows (eval metrics are sparse)."""
    out: dict[str, Any] = {}
    for row in rows:
        for key, value in row.items():
            if value is not None and key != "epoch":
                out[key] = value
    if rows and rows[-1].get("epoch") is not None:
        out["epoch"] = rows[-1]["epoch"]
    return out


def _event_rows(session: Session, job: RemoteJob) -> list[dict[str, Any]]:
    """Per-step rows from the job's metrics events: for jobs that leave no result file (failed,
    cancelled). One row per step, in step order."""
    events = retrying(f"reading events of {session.label()} job {job.id}", session.provider.events_since, job.id, None)
    by_step = {e.metrics["step"]: {k: v for k, v in e.metrics.items() if k != "total_steps"}
               for e in events if e.metrics and e.metrics.get("step") is not None}
    return [by_step[step] for step in sorted(by_step)]


def write_metrics(directory: Path, rows: list[dict[str, Any]]) -> Path:
    from .data.atomic import atomic_write

    path = directory / "metrics.jsonl"
    with atomic_write(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, sort_keys=True) + "\n")
    return path


def finish(session: Session, job: RemoteJob, console: Any = None) -> Outcome:
    """Record a finished job: status, model, metrics.jsonl, job.json, actual cost. Safe to call
    again (``ftx jobs status`` on a finished run rewrites the same files)."""
    from .data.atomic import atomic_write
    from .redact import redact

    provider, reg = session.provider, session.registry
    run = session.run
    label = session.label()
    directory = output_dir(run)
    directory.mkdir(parents=True, exist_ok=True)
    files = retrying(f"downloading the results of {label} job {job.id}", provider.result_files, job)
    artifacts = {**run.artifacts, "metrics": str(directory / "metrics.jsonl"), "job": str(directory / "job.json")}
    for name, content in files.items():
        safe = Path(name).name  # a provider's name must not escape the run directory
        with atomic_write(directory / safe, "wb") as handle:
            handle.write(content)
        artifacts[f"result:{safe}"] = str(directory / safe)
    rows = (retrying(f"reading the results of {label} job {job.id}", provider.final_metrics, job)
            or _event_rows(session, job))
    metrics_path = write_metrics(directory, rows)
    with atomic_write(directory / "job.json") as handle:
        json.dump(redact(job.raw), handle, indent=2, sort_keys=True, default=str)
    cost = provider.actual_cost(job)
    summary = _summary(rows)
    if job.trained_tokens is not None:
        summary["trained_tokens"] = job.trained_tokens
    artifacts.update(job.artifacts)
    if job.fine_tuned_model:
        artifacts["fine_tuned_model"] = job.fine_tuned_model
    error = f"{job.error_code}: {job.error_message}" if job.error_code else job.error_message
    fields: dict[str, Any] = {"status": job.status, "metrics": summary, "artifacts": artifacts,
                              "output_dir": str(directory), "actual_cost_usd": cost, "error": error}
    if job.fine_tuned_model:
        fields["model"] = job.fine_tuned_model
    if run.status != job.status:
        reg.add_event(run.id, "error" if job.status == "failed" else "info",
                      f"{label} job {job.id}: {job.provider_status}" + (f" ({error})" if error else ""))
    run = reg.update_run(run.id, **fields)
    downloaded = _download_when_succeeded(session, job, label)
    outcome = Outcome(run.id, job.id, job.status, job.fine_tuned_model, job.trained_tokens, cost,
                      run.estimated_cost_usd, summary, str(metrics_path), error, job.error_code,
                      job.error_message)
    _print_outcome(outcome, label, console)
    if downloaded is not None:
        from rich.console import Console

        kind = f"{len(downloaded.served)} files" if downloaded.served else downloaded.format
        (console or Console()).print(f"  {'weights':<20} {downloaded.folder} ({downloaded.bytes:,} bytes, "
                                     f"{kind})", highlight=False, markup=False)
    return outcome


def _download_when_succeeded(session: Session, job: RemoteJob, label: str) -> Any:
    """The weights the recipe asks for on success; a failed download is a warning (the job did
    succeed, and ``ftx jobs download RUN`` tries again), never the run's failure."""
    from .errors import FtxError
    from .hosted.download import download_when_succeeded

    try:
        return download_when_succeeded(session.registry, session.registry.get_run(session.run.id), session.provider,
                                       job, label)
    except FtxError as exc:
        message = f"the weights were not downloaded: {exc}; try again with ftx jobs download {session.run.id}"
        session.registry.add_event(session.run.id, "warning", message)
        print(f"warning: {message}", file=sys.stderr)
        return None


def _money(value: float | None) -> str:
    return "unknown" if value is None else (f"${value:.4f}" if 0 < value < 0.01 else f"${value:,.2f}")


def _print_outcome(outcome: Outcome, label: str, console: Any = None) -> None:
    from rich.console import Console

    console = console or Console()
    if outcome.status == "succeeded":
        lines = [f"succeeded: fine-tuned model {outcome.fine_tuned_model}"]
        if outcome.trained_tokens is not None:
            lines.append(f"  {'trained tokens':<20} {outcome.trained_tokens:,}")
        cost = _money(outcome.actual_cost_usd)
        if outcome.actual_cost_usd is None:
            cost += " (no price for this model in the catalog)"
        if outcome.estimated_cost_usd is not None:
            cost += f" (estimated {_money(outcome.estimated_cost_usd)})"
        lines.append(f"  {'cost':<20} {cost}")
        for key in ("loss", "eval_loss", "token_accuracy", "eval_token_accuracy"):
            if key in outcome.metrics:
                lines.append(f"  {key:<20} {outcome.metrics[key]:.4g}")
        lines.append(f"  {'metrics':<20} {outcome.metrics_file}")
        console.print("\n".join(lines), highlight=False, markup=False)
    else:
        reason = f" ({outcome.error})" if outcome.error else ""
        console.print(f"{outcome.status}: {label} job {outcome.job_id}{reason}",
                      highlight=False, markup=False)


def check(outcome: Outcome, label: str) -> Outcome:
    """Raise the one-line error a failed or cancelled outcome deserves; pass others through."""
    if outcome.status == "failed":
        raise ProviderError(label, f"job {outcome.job_id} failed: {outcome.error_message or 'no reason given'}",
                            outcome.error_code, hint=f"ftx jobs logs {outcome.run_id} shows the job's events")
    if outcome.status == "cancelled":
        raise BackendError(f"{label} job {outcome.job_id} was cancelled (run {outcome.run_id})")
    return outcome
