"""Environment variables set for the length of a block: what the processes started inside it
(torchrun's workers, a backend's subprocesses) inherit, restored afterwards."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator, Mapping


@contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` set in ``os.environ`` while the block runs; afterwards each variable is as it
    was (unset again if it was unset), whatever the block raised."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
