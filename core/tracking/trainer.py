"""What the local trainer needs to report to the trackers ftx opened: ``report_to`` and the
run name, read from the environment :meth:`ftx.tracking.Tracking.environment` set (so that
torchrun's training processes get them too)."""

from __future__ import annotations

import os
from typing import Any

from .session import REPORT_TO_ENV, RUN_NAME_ENV


def trainer_args() -> dict[str, Any]:
    """``report_to`` (transformers' integration names, or ``"none"``) and ``run_name``."""
    names = [n for n in (os.environ.get(REPORT_TO_ENV) or "").split(",") if n and n != "none"]
    out: dict[str, Any] = {"report_to": names or "none"}
    if names and os.environ.get(RUN_NAME_ENV):
        out["run_name"] = os.environ[RUN_NAME_ENV]
    return out
