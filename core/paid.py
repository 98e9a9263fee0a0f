"""What the core does for every backend that spends money, whatever its base class.

* A backend declaring ``hosted = True`` runs through the hosted orchestrator, so it must be a
  :class:`ftx.hosted.HostedBackend`; another class is refused with one line (at registration, and
  here for one registered by other means).
* A backend declaring ``paid = True`` (every hosted one does) passes the cost guard before its
  run is recorded and started: the estimate, ``--max-cost``, ``--yes`` or the prompt
  (:mod:`ftx.cost.guard`). The run is recorded in the registry by the core either way.
"""

from __future__ import annotations

from typing import Any

from .errors import BackendError


def not_hosted_backend(backend: Any) -> str:
    return (f"backend {backend.name!r} declares hosted = True but is not a ftx.hosted.HostedBackend; "
            'hosted backends subclass it (see docs/plugins.md, "Writing a hosted backend")')


def hosted_launch(plan: Any) -> Any:
    from .hosted.contract import HostedBackend
    from .hosted.launch import launch

    if not isinstance(plan.backend, HostedBackend):
        raise BackendError(not_hosted_backend(plan.backend))
    return launch(plan.backend, plan.recipe, plan)


def guard_paid(plan: Any) -> None:
    """The cost guard for a paid backend that is not hosted (hosted ones are guarded by their
    orchestrator, which must record the idempotency key first)."""
    if not getattr(plan.backend, "paid", False):
        return
    from .cost.guard import confirm_spend
    from .pluginmanager import get_plugins

    estimate = get_plugins().first("ftx_estimate", backend=plan.backend, recipe=plan.recipe, data=plan.data)
    confirm_spend(plan, estimate)
