"""The ftx home directory: registry, caches, built models. ``FTX_HOME`` relocates it."""

from __future__ import annotations

import os
from pathlib import Path


def ftx_home() -> Path:
    """``$FTX_HOME``, else ``~/.ftx``; created on first use."""
    home = Path(os.environ.get("FTX_HOME") or Path.home() / ".ftx").expanduser()
    if not home.is_dir():
        # Private: it holds the registry (recipes, endpoints, errors) and caches. A folder that
        # already exists keeps its mode (FTX_HOME may name one the user made).
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
    return home
