"""The exactly-once launch claim: of several ``ftx run`` processes launching the same recipe on
the same account (a team sharing one registry, or one person's two terminals), one uploads and
creates the job; the others wait for its job id and follow that job.

The claim is one registry transaction (:meth:`ftx.registry.Registry.claim_launch`): on SQLite
``BEGIN IMMEDIATE`` serialises it, on PostgreSQL a row lock (and the unique client key) does.
A claim lapses after ``FTX_LAUNCH_LEASE_S`` seconds (default 900), so a launcher killed half-way
never blocks the recipe for good: the next one takes over, and looks for the job before creating
one, as every launch does.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import BackendError

DEFAULT_LEASE_S = 900.0
WAIT_POLL_S = 0.25


def lease_seconds() -> float:
    try:
        return max(1.0, float(os.environ["FTX_LAUNCH_LEASE_S"]))
    except (KeyError, ValueError):
        return DEFAULT_LEASE_S


def new_owner() -> str:
    """Who holds a claim: user, host and process, plus a random part (pids repeat across machines)."""
    from ..registry.store import current_user

    return f"{current_user()}@{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Claim:
    run: Any
    owner: str
    state: str  # created, claimed, or "job": another launcher's job exists, follow it

    @property
    def launch(self) -> bool:
        return self.state in ("created", "claimed")


def claim(registry: Any, client_key: str, create: dict[str, Any], say: Callable[[str], None],
          sleep: Callable[[float], None] = time.sleep) -> Claim:
    """Claim the launch of ``client_key`` (creating its run from ``create`` if none exists), or
    wait until whoever holds it has recorded the job; never returns with two launchers going."""
    from ..resume import process_alive, process_identity

    owner = new_owner()
    lease = lease_seconds()
    identity = process_identity()
    told = False
    stale = None
    while True:
        run, state = registry.claim_launch(client_key, owner, lease, identity=identity, stale_owner=stale, **create)
        if state != "busy":
            return Claim(run, owner, state)
        if run.remote_job_id or run.status == "succeeded":
            return Claim(run, owner, "job")
        if run.status in ("failed", "cancelled"):
            raise BackendError(f"another launch of this recipe (run {run.id}) just {run.status}: {run.error or ''}".strip(),
                               hint="run the command again for a new attempt")
        held = run.extra.get("launch_claim") or {}
        if held and process_alive(held) is False:
            stale = held.get("owner")  # killed on this machine: take over now, not when the lease lapses
            continue
        if not told:
            holder = held.get("owner", "another ftx")
            say(f"run {run.id} is being launched by {holder}; waiting for its job (it creates at most one)")
            told = True
        sleep(WAIT_POLL_S)


def release(registry: Any, run_id: str, owner: str) -> None:
    """Give the claim back when a launch stops without a job (interrupted, refused, gave up)."""
    try:
        registry.release_launch(run_id, owner)
    except Exception:  # the claim lapses on its own; the original error matters more
        pass
