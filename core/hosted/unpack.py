"""Tell what a downloaded file is and unpack it without letting it write outside its folder.

Known: tar (plain, gzip, bzip2, xz; zstd when ``zstandard`` is importable) and zip. Every member
is checked before it is written: an absolute path, a ``..`` component, a link whose target leaves
the folder, a device or FIFO rejects the whole archive (what was unpacked so far is in a staging
folder the caller removes). Tar members are also extracted with the standard library's ``data``
filter where it exists (Python 3.11.4+), which refuses the same things a second time.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import IO, Any

from ..errors import BackendError

_TAR_MODES = {"tar": "r|", "tar.gz": "r|gz", "tar.bz2": "r|bz2", "tar.xz": "r|xz", "tar.zst": "r|"}
_EXTENSIONS = {"tar": ".tar", "tar.gz": ".tar.gz", "tar.bz2": ".tar.bz2", "tar.xz": ".tar.xz",
               "tar.zst": ".tar.zst", "zip": ".zip"}


class UnsafeArchive(BackendError):
    """An archive member that would land outside the destination (or is not a plain file/folder)."""


def zstd_available() -> bool:
    try:
        import zstandard  # noqa: F401
    except ImportError:
        return False
    return True


def sniff(path: Path) -> str:
    """The format of ``path`` from its first bytes: a key of :func:`extension`, or
    ``"unknown (...)"`` describing what it is as far as can be told."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if head.startswith(b"\x1f\x8b"):
        return "tar.gz" if _is_tar(path, "r:gz") else "unknown (gzip data, not a tar archive)"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "tar.zst"  # whether it holds a tar is seen when it is unpacked
    if head.startswith(b"BZh"):
        return "tar.bz2" if _is_tar(path, "r:bz2") else "unknown (bzip2 data, not a tar archive)"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "tar.xz" if _is_tar(path, "r:xz") else "unknown (xz data, not a tar archive)"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) and zipfile.is_zipfile(path):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    if not head:
        return "unknown (empty)"
    if head[8:10] == b'{"':  # an 8-byte header length, then the JSON header
        return "unknown (looks like a single safetensors file)"
    return f"unknown (first bytes {head[:8].hex(' ')})"


def extension(fmt: str) -> str:
    """The file name ending of a format from :func:`sniff` (``.bin`` for an unknown one)."""
    return _EXTENSIONS.get(fmt, ".bin")


def can_unpack(fmt: str) -> str | None:
    """Why ``fmt`` cannot be unpacked here (``None``: it can)."""
    if fmt.startswith("unknown"):
        return f"not an archive ftx knows: {fmt}"
    if fmt == "tar.zst" and not zstd_available():
        return "a zstd-compressed tar needs the zstandard package to unpack (pip install zstandard)"
    return None


def _is_tar(path: Path, mode: str) -> bool:
    try:
        with tarfile.open(path, mode) as archive:  # type: ignore[call-overload]
            return archive.next() is not None
    except (tarfile.TarError, OSError, EOFError):
        return False


def _inside(root: Path, relative: str) -> bool:
    target = os.path.normpath(os.path.join(root, relative))
    return target == str(root) or target.startswith(str(root) + os.sep)


def check_name(name: str, root: Path, holder: str = "the archive", outcome: str = "nothing was unpacked") -> None:
    """Refuse a member name that is absolute, climbs with ``..`` or otherwise leaves ``root``
    (``holder`` and ``outcome`` word the refusal: a file list's names are checked here too)."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UnsafeArchive(f"{holder} holds {name!r}, an absolute path; {outcome}")
    if ".." in pure.parts or not _inside(root, str(pure)):
        raise UnsafeArchive(f"{holder} holds {name!r}, which would land outside {root}; {outcome}")


def _check_tar_member(member: tarfile.TarInfo, root: Path) -> None:
    check_name(member.name, root)
    if member.issym():
        base = os.path.dirname(member.name)
        if os.path.isabs(member.linkname) or not _inside(root, os.path.join(base, member.linkname)):
            raise UnsafeArchive(f"the archive holds a link {member.name!r} -> {member.linkname!r}, which points "
                                f"outside {root}; nothing was unpacked")
    elif member.islnk():
        if os.path.isabs(member.linkname) or not _inside(root, member.linkname):
            raise UnsafeArchive(f"the archive holds a hard link {member.name!r} -> {member.linkname!r} outside "
                                f"{root}; nothing was unpacked")
    elif not (member.isfile() or member.isdir()):
        raise UnsafeArchive(f"the archive holds {member.name!r}, a device or FIFO; nothing was unpacked")


def _open_tar(path: Path, fmt: str, stack: list[Any]) -> tarfile.TarFile:
    if fmt == "tar.zst":
        import zstandard

        raw: IO[bytes] = open(path, "rb")
        stack.append(raw)
        reader = zstandard.ZstdDecompressor().stream_reader(raw)
        stack.append(reader)
        return tarfile.open(fileobj=reader, mode="r|")
    return tarfile.open(path, _TAR_MODES[fmt])  # type: ignore[call-overload]


def unpack(path: Path, fmt: str, staging: Path) -> list[str]:
    """Unpack ``path`` (format ``fmt``) into the empty folder ``staging``; the files written,
    relative to it. Raises :class:`UnsafeArchive` at the first member that is not safe."""
    root = staging.resolve()
    if fmt == "zip":
        return _unpack_zip(path, root)
    stack: list[Any] = []
    try:
        with _open_tar(path, fmt, stack) as archive:
            for member in archive:  # streamed: each member is checked before it is written
                _check_tar_member(member, root)
                if hasattr(tarfile, "data_filter"):
                    archive.extract(member, root, filter="data")
                else:  # pragma: no cover - Python < 3.11.4: the checks above are the only ones
                    archive.extract(member, root)
    except tarfile.TarError as exc:
        raise BackendError(f"the downloaded {fmt} archive cannot be read: {exc}") from None
    except Exception as exc:
        if type(exc).__module__.startswith("zstandard"):
            raise BackendError(f"the downloaded {fmt} archive cannot be read: {exc}") from None
        raise
    finally:
        for handle in reversed(stack):
            handle.close()
    return _listing(root)


def _unpack_zip(path: Path, root: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():  # all checked before any is written
            check_name(info.filename, root)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UnsafeArchive(f"the archive holds a link {info.filename!r}; nothing was unpacked")
        archive.extractall(root)
    return _listing(root)


def _listing(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink())
