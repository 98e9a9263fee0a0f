"""Moved to :mod:`ftx.hosted.launch`; this name stays for existing imports (the same module)."""

import sys

from .hosted import launch as _launch

sys.modules[__name__] = _launch
