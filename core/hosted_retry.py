"""Moved to :mod:`ftx.hosted.retry`; this name stays for existing imports (the same module)."""

import sys

from .hosted import retry as _retry

sys.modules[__name__] = _retry
