"""The ftx home directory: registry, caches, built models. ``FTX_HOME`` relocates it."""

from __future__ import annotations

import os
from pathlib import Path


def ftx_home() -> Path:
    """``$FTX_HOME``, else ``~/.ftx``; created on first use."""
    home = Path(os.environ.get("FTX_HOME") or Path.home() / ".ftx").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home
