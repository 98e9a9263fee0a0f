"""Which output folders a local run may write into: never one holding what ftx did not write.

A run's folder gets a small marker (``.ftx-run.json``) when ftx first takes it. Afterwards ftx may
clear that folder's ``checkpoints/`` (a failed run's) and replace its outputs. A folder that exists
without the marker is only taken when it is empty; a non-empty one, or a path that is a regular
file, is refused before anything is written, by the dry run as well as the run.

Folders written before the marker existed are recognised by the resolved recipe every ftx run
writes first (``recipe.resolved.yaml``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

MARKER = ".ftx-run.json"
_LEGACY = "recipe.resolved.yaml"


def owned(path: Path) -> bool:
    return (path / MARKER).is_file() or (path / _LEGACY).is_file()


def refusal(path: Path) -> str | None:
    """Why a local run may not use ``path`` as its folder, or None when it may."""
    if path.is_symlink() and not path.exists():
        return f"output_dir {path} is a broken symbolic link"
    if not path.exists():
        return None
    if not path.is_dir():
        return f"output_dir {path} is a file, not a folder; choose a folder"
    if owned(path):
        return None
    try:
        entries = [p.name for p in os.scandir(path)]
    except OSError as exc:
        return f"output_dir {path} cannot be read: {exc.strerror or exc}"
    if entries:
        shown = ", ".join(sorted(entries)[:3]) + (" ..." if len(entries) > 3 else "")
        return (f"output_dir {path} is not empty ({shown}) and was not written by ftx; "
                "ftx never overwrites files it did not write: choose a new or empty folder")
    return None


def claim(path: Path, run_id: str) -> None:
    """Mark ``path`` as a folder ftx writes runs into (kept when a later run reuses it)."""
    marker = path / MARKER
    if not marker.exists():
        marker.write_text(json.dumps({"written_by": "ftx", "first_run": run_id}) + "\n", encoding="utf-8")
