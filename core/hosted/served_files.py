"""Weights served as several named files (:meth:`HostedProvider.download_files`), landed safely.

1. every path is checked before anything is written, as archive members are
   (:func:`ftx.hosted.unpack.check_name`: no absolute path, no ``..``), and none may repeat, be
   both a file and a folder, or be a name ftx keeps for itself;
2. each file is streamed to a temporary file in the destination (``.download-*.part``); a file
   whose stream breaks off is streamed again from its own start (those already complete are
   kept); any failure or interruption removes every temporary file;
3. once every file is complete, all are given their final names (a link in the way, or a file
   already there, refuses before any is moved); size and sha256 of each, and of all together.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterable

from ..errors import BackendError
from .download_contract import RemoteFile
from .retry import retrying
from .unpack import UnsafeArchive, check_name


def write_part(chunks: Callable[[], Iterable[bytes]], folder: Path) -> tuple[Path, int, str]:
    """One attempt: stream ``chunks()`` to a temporary file in ``folder``; (path, bytes, sha256).
    Any failure, an interruption included, removes the temporary file."""
    fd, name = tempfile.mkstemp(prefix=".download-", suffix=".part", dir=folder)
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks():
                handle.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        raise
    return Path(name), size, digest.hexdigest()


def check_listing(files: Iterable[RemoteFile], folder: Path, holder: str,
                  reserved: tuple[str, ...]) -> list[RemoteFile]:
    """The files with their paths normalised ("/"-separated, no ``./``); refuses the whole list at
    the first path that is unsafe (``holder`` names the list in the refusal)."""
    checked: list[RemoteFile] = []
    seen: set[str] = set()
    refuse = "nothing was downloaded"
    for remote in files:
        name = remote.path
        if not isinstance(name, str) or not name.strip() or "\x00" in name:
            raise UnsafeArchive(f"{holder} holds {name!r}, which is not a file name; {refuse}")
        check_name(name, folder, holder, refuse)
        path = PurePosixPath(name.replace("\\", "/")).as_posix()
        if path in ("", ".") or name.endswith(("/", "\\")):
            raise UnsafeArchive(f"{holder} holds {name!r}, which is not a file name; {refuse}")
        if path in reserved:
            raise UnsafeArchive(f"{holder} holds {name!r}, a name ftx keeps for its own record; {refuse}")
        if path in seen:
            raise UnsafeArchive(f"{holder} holds {path!r} twice; {refuse}")
        seen.add(path)
        checked.append(RemoteFile(path, remote.stream))
    if not checked:
        raise BackendError(f"{holder} holds no files; {refuse}")
    for path in seen:
        parent = next((p.as_posix() for p in PurePosixPath(path).parents if p.as_posix() in seen), None)
        if parent is not None:
            raise UnsafeArchive(f"{holder} holds {parent!r} both as a file and as a folder; {refuse}")
    return checked


def combined_sha256(served: dict[str, dict[str, Any]]) -> str:
    """The sha256 of several files together: of their ``sha256sum`` listing ("<sha256>  <path>" a
    line, sorted by path), so ``sha256sum`` can check each file and this one line checks them all."""
    listing = "".join(f"{served[path]['sha256']}  {path}\n" for path in sorted(served))
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def land_files(files: list[RemoteFile], folder: Path, what: str,
               clear_previous: Callable[[], None]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Stream every file of a checked listing into ``folder``, then move them all into place
    (``clear_previous`` runs just before: ``--force`` removes the earlier download); the paths
    placed and, per path, ``{"bytes", "sha256"}``."""
    parts: dict[str, Path] = {}
    served: dict[str, dict[str, Any]] = {}
    try:
        for remote in files:
            part, size, sha256 = retrying(f"downloading {remote.path} of {what}", write_part, remote.stream, folder)
            parts[remote.path] = part
            served[remote.path] = {"bytes": size, "sha256": sha256}
        clear_previous()
        _place(parts, folder)
        parts = {}
    finally:
        for part in parts.values():
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
    return sorted(served), served


def _place(parts: dict[str, Path], folder: Path) -> None:
    """Give each complete temporary file its final name; all targets are checked first, and an
    interruption half-way removes what was already moved."""
    root = folder.resolve()
    made: list[Path] = []
    for path in parts:
        target = folder / path
        for parent in reversed(target.parents):
            if parent == folder or not parent.is_relative_to(folder):
                continue
            if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
                raise UnsafeArchive(f"{parent} is in the way of {path} (a link or a file); nothing was moved in")
        if target.exists() or target.is_symlink():
            raise BackendError(f"{target} already exists; nothing was moved into {folder}")
    placed: list[Path] = []
    try:
        for path, part in sorted(parts.items()):
            target = folder / path
            for parent in reversed(target.parents):
                if parent.is_relative_to(folder) and parent != folder and not parent.exists():
                    parent.mkdir()
                    made.append(parent)
            if not target.parent.resolve().is_relative_to(root):
                raise UnsafeArchive(f"{path} would land outside {folder}; nothing was moved in")
            if target.exists() or target.is_symlink():  # two names for one file (a case-insensitive disk)
                raise BackendError(f"{target} already exists (another file of the download has its name on "
                                   "this disk); nothing was moved in")
            os.replace(part, target)
            placed.append(target)
    except BaseException:
        for target in placed:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()
        for parent in reversed(made):
            with contextlib.suppress(OSError):
                parent.rmdir()
        raise
