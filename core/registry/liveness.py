"""What a run's stored status means now: a run still marked ``running`` or ``uploading`` whose
process on this machine is gone was killed, so ``ftx runs`` shows it as ``interrupted`` (and
whether ``--resume`` or ``ftx jobs`` picks it up), as ``--resume`` already works out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Statuses a live ftx process is responsible for moving on.
_OWNED = frozenset({"planned", "uploading", "running", "queued"})


def shown_status(run: Any) -> tuple[str, str | None]:
    """(status to show, note) for ``run``; the stored status when nothing says otherwise."""
    from ..planning import process_alive

    extra = getattr(run, "extra", None) or {}
    if run.status not in _OWNED or process_alive(extra) is not False:
        return run.status, None
    job = getattr(run, "remote_job_id", None)
    if job:
        if run.status in ("planned", "uploading"):
            return "interrupted", f"job {job} was created; `ftx jobs` follows it"
        return run.status, f"not followed (its process {extra.get('pid')} is gone); `ftx jobs` follows job {job}"
    marker = extra.get("resume_marker")
    if marker and Path(marker).exists():
        return "interrupted", "resumable: ftx run RECIPE --resume " + run.id
    return "interrupted", "killed before its first checkpoint; run again to start afresh"
