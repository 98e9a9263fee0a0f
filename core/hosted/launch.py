"""Launch a recipe on a hosted backend without ever paying twice.

Order of a launch, and why:

1. prepare offline (convert, validate, build the request): bad data fails before any spend;
2. look the idempotency key up in the registry: a run that already has a job is followed, not
   relaunched; a succeeded one is reported; a failed/cancelled one gets a fresh attempt key;
3. connect (missing credentials fail here), then the cost guard (estimate, confirmation,
   ``--max-cost``);
4. record the run **with its key** before anything remote happens;
5. upload (deduplicated by content hash);
6. ask the provider for a job carrying the key; only if none exists, create one. A create whose
   answer was lost is retried only after checking again, so a timeout never makes two jobs;
7. record the job id at once, then follow the job (or return with ``--detach``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import click

from ..errors import BackendError
from ..hosted_watch import Outcome, Session, check, follow
from .claim import claim, release
from .contract import HostedBackend, HostedProvider, PreparedJob, RemoteJob
from .errors import ProviderError
from .retry import command_deadline, retrying


def attempt_keys(base: str) -> Iterator[str]:
    """``base``, then ``base-2``, ``base-3``...: one key per deliberate new attempt (letters,
    digits and dashes only, so every provider accepts it in metadata or labels)."""
    yield base
    n = 2
    while True:
        yield f"{base}-{n}"
        n += 1


def find_attempt(registry: Any, base_key: str, again: bool = False) -> tuple[str, Any]:
    """The key to launch under and the run already recorded with it (``None`` for a new one).

    Failed and cancelled attempts are skipped: running the command again is a new attempt. With
    ``again`` (``ftx run --train-again``) succeeded ones are skipped too: a deliberate new job."""
    done = ("failed", "cancelled", "succeeded") if again else ("failed", "cancelled")
    for key in attempt_keys(base_key):
        run = registry.find_by_client_key(key)
        if run is None or run.status not in done:
            return key, run
    raise AssertionError("unreachable")  # pragma: no cover


def estimate_for(backend: HostedBackend, recipe: Any, plan: Any) -> Any:
    """The estimator plugin's answer (``ftx_estimate`` hook), or ``None`` when none answers."""
    from ..pluginmanager import get_plugins

    return get_plugins().first("ftx_estimate", backend=backend, recipe=recipe, data=plan.data)


def confirm_spend(plan: Any, estimate: Any) -> None:
    """The cost guard before a paid launch (``ftx.cost.guard``): show the estimate, refuse above
    ``--max-cost``, ask unless ``--yes``, refuse when nobody can be asked."""
    from ..cost.guard import confirm_spend as guard

    guard(plan, estimate)


def _output_dir(recipe: Any, run_id: str) -> str:
    from ..home import ftx_home

    configured = recipe.recipe.output_dir
    if not configured:
        return str(ftx_home() / "runs" / run_id)
    base = Path(configured).expanduser()
    return str((base if base.is_absolute() else recipe.base_dir / base) / run_id)


def create_once(provider: HostedProvider, prepared: PreparedJob, refs: dict[str, str],
                label: str) -> tuple[RemoteJob, bool]:
    """The job carrying ``prepared.client_key``: found if it exists, else created exactly once.

    Returns (job, created)."""
    key = prepared.client_key
    found = retrying(f"looking for an existing {label} job", provider.find_job, key)
    if found is not None:
        return found, False
    recovered: list[RemoteJob] = []

    def look_again() -> RemoteJob | None:
        job = provider.find_job(key)
        if job is not None:
            recovered.append(job)
        return job

    job = retrying(f"creating the {label} job", provider.create_job, prepared, refs, before_retry=look_again)
    return job, not recovered


def launch(backend: HostedBackend, recipe: Any, plan: Any) -> dict[str, Any]:
    """``ftx run`` on a hosted backend: returns the outcome as a mapping (see module docstring)."""
    with command_deadline():
        return _launch(backend, recipe, plan)


def _launch(backend: HostedBackend, recipe: Any, plan: Any) -> dict[str, Any]:
    from ..registry import Registry

    label = backend.provider_label
    from ..prepared import prepare_once

    prepared = prepare_once(backend, recipe)  # the one the dry-run plan built, if the data is unchanged
    again = bool(getattr(plan.options, "extra", {}).get("train_again"))
    with Registry() as registry:
        key, run = find_attempt(registry, prepared.client_key, again)
        prepared.rekey(key)
        if run is not None and run.status == "succeeded":
            click.echo(f"already trained: run {run.id} succeeded with the same recipe, data and target "
                       f"(model {run.model}); nothing launched", err=True)
            click.echo("  to train again anyway: ftx run ... --train-again", err=True)
            return {"run_id": run.id, "status": run.status, "fine_tuned_model": run.model, "relaunched": False}
        if run is not None and run.remote_job_id:
            click.echo(f"run {run.id} already has {label} job {run.remote_job_id}; following it", err=True)
            return _follow(backend, registry, run.id).to_dict()
        # No job recorded yet: reach the service where the recipe and environment say now (a stored
        # endpoint may have moved; the key already covers the target, so it is the same place).
        connection = backend.connection(recipe)
        from ..bulk import bulk_objects

        # Connecting imports the provider's SDK: objects that all stay, whose allocation would set
        # off a full collection scanning every example, record and upload this command holds.
        with bulk_objects():
            provider = backend.connect(connection)  # missing credentials fail here, before any record
        try:
            estimate = estimate_for(backend, recipe, plan)
            if run is not None:
                # Recorded earlier, interrupted before its job id was written: the job may exist.
                click.echo(f"continuing run {run.id} (status {run.status}), interrupted before its job was "
                           "recorded", err=True)
            confirm_spend(plan, estimate)
            # One transaction decides which of the processes launching this recipe creates the job.
            got = claim(registry, prepared.client_key, _record_fields(backend, recipe, prepared, connection, estimate),
                        lambda line: click.echo(line, err=True))
            run = got.run
            if got.state == "created":
                run = _recorded(registry, backend, recipe, prepared, run)
            elif got.state == "job":
                click.echo(f"run {run.id} has {label} job {run.remote_job_id}, launched by another ftx; "
                           "following it", err=True)
                if not plan.options.watch:
                    return {"run_id": run.id, "job_id": run.remote_job_id, "status": run.status, "detached": True}
                return _follow(backend, registry, run.id, provider).to_dict()
            else:
                run = registry.update_run(run.id, extra={**(run.extra or {}), **_process()})
            job = _start(provider, registry, run.id, prepared, label, getattr(plan.options, "max_cost", None),
                         got.owner)
            if not plan.options.watch:
                click.echo(f"launched {label} job {job.id} (run {run.id}); not following it (--detach)\n"
                           f"  follow it:  ftx jobs wait {run.id}\n  status:     ftx jobs status {run.id}")
                return {"run_id": run.id, "job_id": job.id, "status": job.status, "detached": True}
            return _follow(backend, registry, run.id, provider).to_dict()
        finally:
            provider.close()


def _process() -> dict[str, Any]:
    """Which process launches the job, so `ftx runs` can tell a killed launch from a live one."""
    from ..resume import process_identity

    return process_identity()


def _record_fields(backend: HostedBackend, recipe: Any, prepared: PreparedJob, connection: dict[str, Any],
                   estimate: Any) -> dict[str, Any]:
    """The run as recorded, with its idempotency key, before anything remote happens."""
    return dict(name=recipe.recipe.name, backend=backend.name, recipe_snapshot=recipe.to_dict(),
                recipe_hash=recipe.snapshot_hash(), model=recipe.model, data_hashes=prepared.data_hashes(),
                status="planned", estimated_cost_usd=getattr(estimate, "cost_usd", None),
                extra={"base_model": prepared.base_model, "connection": connection,
                       "request": prepared.display_request(), "prepared": prepared.summary, **_process()})


def _recorded(registry: Any, backend: HostedBackend, recipe: Any, prepared: PreparedJob, run: Any) -> Any:
    run = registry.update_run(run.id, output_dir=_output_dir(recipe, run.id))
    registry.add_event(run.id, "info", f"recorded with client key {prepared.client_key} before launching "
                                       f"on {backend.provider_label}")
    return run


def _start(provider: HostedProvider, registry: Any, run_id: str, prepared: PreparedJob, label: str,
           max_cost: float | None = None, owner: str = "") -> RemoteJob:
    """Upload and create, recording how an attempt that stops half-way may continue."""
    try:
        return _start_or_explain(provider, registry, run_id, prepared, label, max_cost)
    except BaseException:
        release(registry, run_id, owner)  # the next launcher need not wait for the lease to lapse
        raise


def _start_or_explain(provider: HostedProvider, registry: Any, run_id: str, prepared: PreparedJob, label: str,
                      max_cost: float | None = None) -> RemoteJob:
    try:
        return _upload_and_create(provider, registry, run_id, prepared, label, max_cost)
    except KeyboardInterrupt:
        registry.update_run(run_id, status="interrupted")
        registry.add_event(run_id, "warning", "interrupted before the job was created")
        raise BackendError(f"interrupted before the {label} job was created (run {run_id})",
                           hint="run the same command again: it continues and creates at most one job") from None
    except ProviderError as exc:  # the provider refused: no job exists, this attempt is over
        registry.update_run(run_id, status="failed", error=str(exc))
        raise
    except BackendError as exc:
        # Gave up retrying: a create may have reached the provider, so keep the key for the
        # next attempt (interrupted, not failed) and let it look for the job first.
        registry.update_run(run_id, status="interrupted", error=str(exc))
        raise


def _upload_and_create(provider: HostedProvider, registry: Any, run_id: str, prepared: PreparedJob,
                       label: str, max_cost: float | None = None) -> RemoteJob:
    registry.update_run(run_id, status="uploading")
    refs: dict[str, str] = {}
    for file in prepared.files:
        refs[file.role] = retrying(f"uploading {file.filename} to {label}", provider.upload, file)
        registry.add_event(run_id, "info", f"{file.role} data is {label} file {refs[file.role]} ({file.sha256[:12]})")
    registry.merge_json(run_id, "artifacts", {f"{role}_file": ref for role, ref in refs.items()})
    _quote(provider, registry, run_id, prepared, refs, label, max_cost)
    job, created = create_once(provider, prepared, refs, label)
    # Written before anything else can fail: from here on the job can always be found again.
    registry.update_run(run_id, remote_job_id=job.id, status=job.status if not job.finished else "queued")
    registry.add_event(run_id, "info", f"{'created' if created else 'found existing'} {label} job {job.id}")
    click.echo(f"{'created' if created else 'found existing'} {label} job {job.id} (run {run_id})", err=True)
    return job


def _quote(provider: HostedProvider, registry: Any, run_id: str, prepared: PreparedJob, refs: dict[str, str],
           label: str, max_cost: float | None) -> None:
    """The provider's own estimate, shown beside ftx's and held to ``--max-cost`` before any job."""
    from ..cost.guard import usd

    quote = retrying(f"asking {label} for its estimate", provider.quote, prepared, refs)
    if not quote or quote.get("cost_usd") is None:
        return
    cost = float(quote["cost_usd"])
    ours = registry.get_run(run_id).estimated_cost_usd
    registry.merge_json(run_id, "extra", {"provider_estimate": quote})
    beside = f" (ftx estimated {usd(ours)})" if ours is not None else ""
    click.echo(f"{label}'s own estimate: {usd(cost)}{beside}", err=True)
    registry.add_event(run_id, "info", f"{label}'s own estimate: {usd(cost)}{beside}")
    if max_cost is not None and cost > max_cost:
        raise ProviderError(label, f"its own estimate {usd(cost)} exceeds --max-cost {usd(max_cost)}; no job created",
                            "over_max_cost")
    if quote.get("allowed") is False:
        raise ProviderError(label, f"the account may not spend {usd(cost)} (over its credit limit); no job created",
                            "not_allowed_to_proceed")


def _follow(backend: HostedBackend, registry: Any, run_id: str, provider: HostedProvider | None = None) -> Outcome:
    """Follow a run's job; a provider passed in stays open (its owner closes it)."""
    run = registry.get_run(run_id)
    own = provider is None
    provider = provider or backend.connect(dict(run.extra.get("connection") or {}))
    try:
        outcome = follow(Session(backend, provider, registry, run_id))
    finally:
        if own:
            provider.close()
    return check(outcome, backend.provider_label)
