"""``ftx jobs``: follow, inspect, cancel and download jobs on hosted backends (OpenAI, Azure OpenAI, Vertex ...).

Every command works from the run id alone (or a unique prefix, or the provider's job id): the
registry holds where the job lives; credentials come from the environment.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click


def _registry() -> Any:
    from ..registry import Registry

    return Registry()


def _find_run(registry: Any, ref: str) -> Any:
    """A run by id, id prefix, or the provider's job id (``ftjob-...``)."""
    from ..errors import RegistryError

    try:
        return registry.get_run(ref)
    except RegistryError:
        matches = registry.find_by_remote_job(ref)
        if len(matches) == 1:
            return matches[0]
        raise


def _hosted_names() -> set[str]:
    from ..components import backends

    return {name for name, b in backends().items() if getattr(b, "hosted", False)}


def _session(registry: Any, ref: str) -> Any:
    from ..hosted_watch import open_session

    return open_session(registry, _find_run(registry, ref))


@click.group("jobs")
def jobs_group() -> None:
    """Follow, inspect, cancel and download jobs on hosted backends."""


@jobs_group.command("list")
@click.option("--backend", "-b", default=None, help="only this hosted backend")
@click.option("--remote", is_flag=True, help="ask the provider (needs --backend): its jobs, ftx's or not")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True, help="at most N jobs")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def list_jobs(backend: str | None, remote: bool, limit: int, as_json: bool) -> None:
    """Hosted runs recorded by ftx, newest first (or, with --remote, the provider's own list)."""
    from ..errors import BackendError

    hosted = _hosted_names()
    if backend is not None and backend not in hosted:
        raise BackendError(f"{backend!r} is not a hosted backend; hosted: {', '.join(sorted(hosted)) or 'none'}")
    if remote:
        if backend is None:
            raise BackendError("--remote needs --backend (which provider to ask)")
        _list_remote(backend, limit, as_json)
        return
    with _registry() as registry:
        runs = registry.list_runs(limit=limit, backend=backend, backends=sorted(hosted))
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in runs], indent=2))
        return
    if not runs:
        click.echo("no hosted runs recorded yet")
        return
    from rich.markup import escape
    from rich.table import Table

    from .runs import _console, _status, money

    table = Table(title=f"{len(runs)} hosted run(s), newest first", title_justify="left")
    for column in ("run", "backend", "job", "status", "model", "created (UTC)", "cost"):
        table.add_column(column, overflow="fold", no_wrap=column not in ("backend", "model"))
    for r in runs:
        table.add_row(r.id, r.backend, escape(r.remote_job_id or "-"), _status(r.status), escape(r.model or "-"),
                      r.created_at.replace("T", " ")[:16], money(r.actual_cost_usd if r.actual_cost_usd is not None
                                                                  else r.estimated_cost_usd))
    _console().print(table)


def _list_remote(backend_name: str, limit: int, as_json: bool) -> None:
    from ..components import get_backend
    from ..hosted_retry import retrying

    backend = get_backend(backend_name)
    provider = backend.connect(backend.connection(None))
    try:
        jobs = retrying(f"listing {backend.provider_label} jobs", provider.list_jobs, limit)
    finally:
        provider.close()
    if as_json:
        click.echo(json.dumps([{k: v for k, v in vars(j).items() if k != "raw"} for j in jobs], indent=2, default=str))
        return
    if not jobs:
        click.echo(f"no jobs at {backend.provider_label}")
    for job in jobs:
        click.echo(f"{job.id}  {job.provider_status:<16} {job.base_model or '-'} -> {job.fine_tuned_model or '-'}"
                   + (f"  (ftx key {job.client_key})" if job.client_key else ""))


@jobs_group.command("status")
@click.argument("run")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def status(run: str, as_json: bool) -> None:
    """Ask the provider how RUN's job is doing, and record it (a finished job is finalised)."""
    from ..hosted_watch import finish, sync

    with _registry() as registry:
        session = _session(registry, run)
        try:
            job, _events, checkpoints = sync(session)
            recorded = session.run
            if job.finished and (recorded.status != job.status or not recorded.artifacts.get("metrics")):
                finish(session, job)
        finally:
            session.provider.close()
        recorded = session.run
    data = {"run": recorded.id, "backend": recorded.backend, "job": job.id, "status": job.status,
            "provider_status": job.provider_status, "base_model": job.base_model,
            "fine_tuned_model": job.fine_tuned_model, "trained_tokens": job.trained_tokens,
            "error": recorded.error, "estimated_cost_usd": recorded.estimated_cost_usd,
            "actual_cost_usd": recorded.actual_cost_usd, "last_metrics": recorded.extra.get("last_metrics"),
            "checkpoints": [c.model for c in checkpoints or ()]}
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    for key, value in data.items():
        if value not in (None, [], {}):
            click.echo(f"{key:<18} {json.dumps(value) if isinstance(value, (dict, list)) else value}")


@jobs_group.command("logs")
@click.argument("run")
@click.option("--follow", "-f", is_flag=True, help="keep printing new events until the job ends")
@click.option("--lines", "-n", type=click.IntRange(min=1), default=None, help="only the last N events")
def logs(run: str, follow: bool, lines: int | None) -> None:
    """RUN's history: ftx's own events and the provider's job events."""
    from ..hosted_watch import poll_interval, sync

    with _registry() as registry:
        session = _session(registry, run)
        try:
            job, _, _ = sync(session, with_checkpoints=False)
            events = registry.events(session.run_id, limit=lines)
            for event in events:
                click.echo(_event_line(event))
            last = events[-1].id if events else None
            try:
                while follow and not job.finished:
                    time.sleep(poll_interval(session.backend))
                    job, _, _ = sync(session, with_checkpoints=False)
                    for event in registry.events(session.run_id, after_id=last):
                        click.echo(_event_line(event))
                        last = event.id
            except KeyboardInterrupt:
                click.echo(f"stopped following; the job keeps running (ftx jobs wait {session.run_id})", err=True)
        finally:
            session.provider.close()


def _event_line(event: Any) -> str:
    return f"{event.time.replace('T', ' ')[:19]}Z  {event.level:<7}  {event.message}"


@jobs_group.command("cancel")
@click.argument("run")
def cancel(run: str) -> None:
    """Cancel RUN's job at the provider (what it trained so far may still be billed)."""
    from ..errors import BackendError
    from ..hosted_retry import retrying

    with _registry() as registry:
        session = _session(registry, run)
        label = session.label()
        try:
            current = retrying(f"reading {label} job", session.provider.get_job, session.run.remote_job_id)
            if current.finished:
                raise BackendError(f"{label} job {current.id} already {current.status}; nothing to cancel")
            job = retrying(f"cancelling {label} job {current.id}", session.provider.cancel_job, current.id)
        finally:
            session.provider.close()
        registry.update_run(session.run_id, status=job.status)
        registry.add_event(session.run_id, "warning",
                           f"cancel requested: {label} job {job.id} is {job.provider_status}")
    click.echo(f"cancelled {label} job {job.id} (run {session.run_id}): {job.provider_status}")


@jobs_group.command("wait")
@click.argument("run")
def wait(run: str) -> None:
    """Follow RUN's job until it ends (live view; Ctrl-C detaches again), then record the outcome."""
    from ..hosted_watch import check, follow

    with _registry() as registry:
        session = _session(registry, run)
        try:
            outcome = follow(session)
        finally:
            session.provider.close()
    if not outcome.detached:
        check(outcome, session.label())


@jobs_group.command("download")
@click.argument("run")
@click.option("--checkpoint", "-c", default=None, metavar="KIND",
              help="which weights: adapter or merged (what the provider serves; default: the job's first, "
                   "the adapter of a LoRA job)")
@click.option("--step", type=click.IntRange(min=1), default=None, help="an intermediate checkpoint's step")
@click.option("--out", "-o", type=click.Path(file_okay=False), default=None,
              help="destination folder (default: the run's folder + download/<checkpoint>/)")
@click.option("--force", is_flag=True, help="replace an earlier download there (only the files ftx wrote)")
@click.option("--keep-archive", is_flag=True, help="keep the archive as served beside the unpacked files")
def download(run: str, checkpoint: str | None, step: int | None, out: str | None, force: bool,
             keep_archive: bool) -> None:
    """Download the weights of RUN's succeeded job (where its provider hands them out), unpacked
    into a folder; size and sha256 are recorded with the run."""
    from ..hosted.download import download_weights

    with _registry() as registry:
        got = download_weights(registry, _find_run(registry, run), checkpoint=checkpoint, step=step, out=out,
                               force=force, keep_archive=keep_archive)
    what = f"the {got.checkpoint}{f' at step {got.step}' if got.step else ''}"
    if got.served:  # several files, as served
        click.echo(f"downloaded {what}: {len(got.served)} file(s), {got.bytes:,} bytes, sha256 {got.sha256} "
                   f"(of their sha256sum listing) into {got.folder}")
        for path, details in sorted(got.served.items()):
            click.echo(f"  {details['sha256']}  {path} ({details['bytes']:,} bytes)")
        return
    unpacked = [f for f in got.files if f != got.archive]
    kind = "" if got.not_unpacked else f" ({got.format})"  # else said below, with why
    click.echo(f"downloaded {what}: {got.bytes:,} bytes, sha256 {got.sha256}{kind}")
    if unpacked:
        click.echo(f"  {len(unpacked)} file(s) unpacked into {got.folder}")
    if got.archive and not unpacked:
        click.echo(f"  kept as {Path(got.folder) / got.archive}, not unpacked: {got.not_unpacked}")


COMMANDS = [jobs_group]
