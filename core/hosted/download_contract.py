"""The download members of the hosted-provider contract and the types they exchange with the core.

:class:`ftx.hosted.HostedProvider` inherits :class:`DownloadMembers`; ``ftx jobs download`` and
the download a recipe asks for on success run them through :mod:`ftx.hosted.download`, which
does everything but streaming the bytes, the same for every provider. A provider serves its
weights one of two ways:

* :meth:`DownloadMembers.download`: one stream (usually an archive, unpacked by the core);
* :meth:`DownloadMembers.download_files`: several named files (each a :class:`RemoteFile`),
  landed as served, under their own names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable

from .errors import ProviderError


@dataclass
class RemoteFile:
    """One file of a download served as several (:meth:`DownloadMembers.download_files`)."""

    path: str  # where it lands, relative to the destination, "/"-separated; checked like an archive member
    stream: Callable[[], Iterable[bytes]] = field(repr=False)  # each call streams the file from its first byte


@dataclass
class DownloadedArtifact:
    """A succeeded job's weights as ``ftx jobs download`` left them on disk (and in the registry):
    what the provider served (``bytes``, ``sha256``, ``format``) and what landed in ``folder``."""

    checkpoint: str  # one of the provider's ``downloads`` ("adapter", "merged")
    step: int | None  # the intermediate checkpoint's step; None: the final model
    folder: str
    bytes: int  # served, in all
    sha256: str  # of the bytes as served (the archive); of several files: of their sha256sum listing
    format: str  # "tar.gz", "tar.zst", "tar", "zip", ... "unknown (...)"; "files": several, as served
    files: list[str] = field(default_factory=list)  # relative to ``folder``, the archive included when kept
    archive: str | None = None  # the served file, when kept (unknown format, --keep-archive)
    not_unpacked: str | None = None  # why it was kept as served, when it could not be unpacked
    served: dict[str, dict[str, Any]] = field(default_factory=dict)  # several files: path -> {bytes, sha256}


class DownloadMembers:
    """The members a provider that hands out its weights implements (defaults: it does not)."""

    label: ClassVar[str]
    #: The weights :meth:`download` (or :meth:`download_files`) serves, e.g. ``("adapter", "merged")``;
    #: empty (the default): the provider does not hand out the weights of its fine-tunes.
    downloads: ClassVar[tuple[str, ...]] = ()
    #: What ``ftx jobs download`` says when :attr:`downloads` is empty (``{label}``: :attr:`label`).
    no_downloads: ClassVar[str] = "{label} does not hand out the weights of its fine-tunes"

    def download_when_succeeded(self) -> str | None:
        """The checkpoint (one of :attr:`downloads`) the recipe asks to have downloaded into the
        run's folder when the job succeeds, as ``ftx jobs download`` does it. Default: the
        connection's ``download`` (a backend puts its ``backends.<name>.download`` option there)
        when it names one of :attr:`downloads`, else ``None``."""
        kind = (getattr(self, "connection", None) or {}).get("download")
        return kind if kind in self.downloads else None

    def download_refusal(self, job: Any, checkpoint: str) -> str | None:
        """Why the succeeded ``job`` has no ``checkpoint`` (one of :attr:`downloads`) to download,
        e.g. no adapter for a full fine-tune; asked before any download request. ``None``: it has
        one. Default: ``None``."""
        return None

    def download(self, job: Any, checkpoint: str, step: int | None = None) -> Iterable[bytes]:
        """The bytes of ``job``'s weights as one stream (usually an archive), in chunks:
        ``checkpoint`` is one of :attr:`downloads`, ``step`` an intermediate checkpoint's step
        (``None``: the final model). Stream them, never read them whole (a merged model is tens of
        GB); a connection lost mid-stream is a :class:`TransientError`. The core writes the chunks
        to a temporary file in the destination folder, renames it into place only when complete,
        records size and sha256, unpacks known archives safely, and retries a broken download from
        the start. Default: nothing is offered."""
        raise ProviderError(self.label, self.no_downloads.format(label=self.label))

    def download_files(self, job: Any, checkpoint: str, step: int | None = None) -> Iterable[RemoteFile] | None:
        """The weights as several named files (a :class:`RemoteFile` each), for a service that
        serves them so; ``None`` (the default): the weights are one stream, :meth:`download`.

        Make one listing request here (retried by the core as a whole on a
        :class:`TransientError`); each file's ``stream()`` then opens and streams that file from
        its first byte, raising :class:`TransientError` when it breaks off. The core checks every
        path before anything is written (no absolute path, no ``..``, no duplicates), streams each
        file to a temporary file in the destination (a broken file is streamed again from its own
        start, the files already complete are kept), and gives all of them their final names only
        once every one is complete; it records each file's size and sha256."""
        return None
