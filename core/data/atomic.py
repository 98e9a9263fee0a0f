"""Write files so that a failure never leaves a half-written output behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Iterator


def umask_mode() -> int:
    """The mode a new file gets under this process's umask (what ``open`` would give)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8",
                 private: bool = False) -> Iterator[IO]:
    """Yield a handle on a temporary file beside ``path``; on success it replaces ``path``
    atomically, on any exception it is removed and ``path`` is left as it was.

    The file ends up with the permissions the user's umask gives new files (one policy for every
    output: local and hosted runs, ``data split``/``convert``), or 0600 with ``private``; the
    temporary file is private while it is written either way."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if not private:
            os.chmod(tmp, umask_mode())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
