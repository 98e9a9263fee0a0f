"""``ftx run``: run a recipe on a backend (``--dry-run`` plans and spends nothing)."""

from __future__ import annotations

import json

import click

from .common import echo_warnings, overrides_argument

LATEST = "latest"  # what a bare --resume means: the newest resumable run of the recipe
RAY_DEFAULT = "\0default"  # a bare --ray: the address from the recipe, $RAY_ADDRESS or a local instance


@click.command("run")
@click.argument("recipe")
@overrides_argument
@click.option("--backend", "-b", default="local", show_default=True, help="backend to run on")
@click.option("--dry-run", is_flag=True, help="resolve, validate and print the plan; spend nothing")
@click.option("--json", "as_json", is_flag=True, help="print the plan as JSON (with --dry-run)")
@click.option("--yes", "-y", is_flag=True, help="do not ask before spending money (paid backends)")
@click.option("--max-cost", type=float, metavar="USD", help="refuse to launch if the estimate exceeds this")
@click.option("--detach", is_flag=True, help="hosted backends: return once the job is launched")
@click.option("--resume", "resume", is_flag=False, flag_value=LATEST, default=None, metavar="[RUN_ID]",
              help="continue the newest interrupted, failed or killed run of this recipe from its last "
                   "checkpoint (or the run RUN_ID)")
@click.option("--train-again", is_flag=True,
              help="hosted backends: launch a new job even when the same recipe, data and target succeeded")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="training processes on this machine (one per GPU; launched with torchrun)")
@click.option("--nnodes", type=click.IntRange(min=1), default=1, show_default=True, metavar="N",
              help="machines taking part in the training")
@click.option("--node-rank", type=click.IntRange(min=0), default=0, show_default=True, metavar="RANK",
              help="this machine's rank among --nnodes (0 holds the outputs)")
@click.option("--master-addr", metavar="HOST", help="address of the --node-rank 0 machine (several machines)")
@click.option("--master-port", type=click.IntRange(1, 65535), metavar="PORT",
              help="port the --node-rank 0 machine listens on (default 29500)")
@click.option("--ray", "ray", is_flag=False, flag_value=RAY_DEFAULT, default=None, metavar="[ADDRESS]",
              help="train on a Ray cluster (Ray Train): ADDRESS, else $RAY_ADDRESS, else a new local instance "
                   "(backends.BACKEND.ray in the recipe)")
@click.option("--workers", type=click.IntRange(min=1), metavar="N", help="Ray training workers (with --ray)")
def run(recipe: str, overrides: tuple[str, ...], backend: str, dry_run: bool, as_json: bool, yes: bool,
        max_cost: float | None, detach: bool, resume: str | None, train_again: bool, nproc: int, nnodes: int,
        node_rank: int, master_addr: str | None, master_port: int | None, ray: str | None, workers: int | None) -> None:
    """Run RECIPE (a file or shipped name) on a backend. KEY=VALUE pairs override recipe fields."""
    from ..planning import Processes, RunOptions, execute, plan_run
    from .render import print_plan

    if resume is not None and "=" in resume:
        # `--resume KEY=VALUE`: the value is an override, not a run id (ids never hold "=").
        overrides, resume = (resume, *overrides), LATEST
    if ray is not None and "=" in ray:
        overrides, ray = (ray, *overrides), RAY_DEFAULT
    overrides = (*overrides, *_ray_overrides(backend, ray, workers))
    processes = Processes(nproc=nproc, nnodes=nnodes, node_rank=node_rank, master_addr=master_addr,
                          master_port=master_port if master_port or nnodes == 1 else 29500)
    options = RunOptions(yes=yes, max_cost=max_cost, watch=not detach, resume=resume is not None,
                         resume_run=None if resume in (None, LATEST) else resume, processes=processes,
                         extra={"train_again": True} if train_again else {}, launching=not dry_run)
    plan = plan_run(recipe, backend, overrides, options)
    if as_json:
        click.echo(json.dumps({"backend": backend, "recipe": plan.recipe.to_dict(), "data": plan.data,
                               "plan": plan.details, "warnings": plan.warnings}, indent=2, default=str))
    else:
        print_plan(plan, dry_run)
    echo_warnings(plan.warnings)
    from .eval_after_run import describe, evaluate_after, prepare

    prepare(plan)  # a bad eval section stops here, before anything is trained or spent
    if describe(plan) and not as_json:
        click.echo(describe(plan), err=True)
    if dry_run:
        return
    evaluate_after(plan, execute(plan), yes=yes, max_cost=max_cost)


def _ray_overrides(backend: str, ray: str | None, workers: int | None) -> list[str]:
    """``--ray``/``--workers`` as overrides of the backend's ``ray`` options (the backend validates
    and plans them; they are part of the recipe's hash, as any override)."""
    if ray is None:
        if workers is not None:
            raise click.UsageError("--workers is the number of Ray workers: use it with --ray")
        return []
    out = [f"backends.{backend}.ray.enabled=true"]
    if ray != RAY_DEFAULT:
        out.append(f"backends.{backend}.ray.address={ray}")
    if workers is not None:
        out.append(f"backends.{backend}.ray.workers={workers}")
    return out


COMMANDS = [run]
