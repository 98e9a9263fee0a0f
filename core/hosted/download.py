"""``ftx jobs download RUN``: fetch a succeeded hosted job's weights, for any provider that offers them.

The provider only streams bytes, as one stream (:meth:`HostedProvider.download`) or as several
named files (:meth:`HostedProvider.download_files`); everything else is here, the same for every
provider:

1. refuse early, before any download request: a provider that hands out no weights (its class
   declares no ``downloads``), a job that has not succeeded, a checkpoint the job does not have
   (:meth:`HostedProvider.download_refusal`), a destination that already holds a download
   (unless ``force``) or holds files ftx did not write (always);
2. stream to a temporary file in the destination folder (``.download-*.part``); a broken stream is
   retried from the start (of that file, for several), an interruption removes it: nothing
   half-written ever has a final name;
3. one stream: record size and sha256, tell the format from the first bytes, unpack a known
   archive into a staging folder (every member checked: :mod:`ftx.hosted.unpack`), then move the
   files into place; a single top folder in the archive is unpacked as the destination itself.
   Several files: every name is checked before anything is written, and all are moved into place
   once every one is complete, each one's size and sha256 recorded (:mod:`ftx.hosted.served_files`);
4. keep the archive only when it cannot be unpacked or ``keep_archive`` asks (a merged model is
   tens of GB: two copies by default would be a waste; the sha256 of what was served is kept);
5. write ``.ftx-download.json`` (what ftx wrote there, so ``--force`` removes exactly that and
   nothing else), record the folder as an artifact of the run, the details under
   ``extra.downloads`` and an event.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import BackendError
from .contract import DownloadedArtifact, HostedBackend, RemoteJob
from .retry import command_deadline, retrying
from .served_files import check_listing, combined_sha256, land_files, write_part
from .unpack import can_unpack, extension, sniff, unpack

MANIFEST = ".ftx-download.json"
CHUNK = 1 << 20


def folder_name(checkpoint: str, step: int | None) -> str:
    return checkpoint if step is None else f"{checkpoint}-step-{step}"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_destination(folder: Path, force: bool) -> dict[str, Any] | None:
    """The earlier download in ``folder`` that ``force`` replaces (``None``: none); refuses a
    folder that holds a download (without ``force``) or anything ftx did not write."""
    if folder.exists() and not folder.is_dir():
        raise BackendError(f"{folder} is a file, not a folder", hint="give --out a folder")
    if not folder.is_dir() or not any(folder.iterdir()):
        return None
    manifest = read_manifest(folder)
    if manifest is None:
        raise BackendError(f"{folder} is not empty and holds files ftx did not write; nothing was changed",
                           hint="give --out an empty or new folder")
    if not force:
        raise BackendError(f"{folder} already holds the {manifest.get('checkpoint')} of job {manifest.get('job')} "
                           f"(downloaded {manifest.get('at')}, sha256 {str(manifest.get('sha256'))[:12]}); "
                           "nothing was changed", hint="--force downloads it again in its place")
    ours = set(manifest.get("files") or [])
    foreign = [p.relative_to(folder).as_posix() for p in folder.rglob("*")
               if (p.is_file() or p.is_symlink()) and p.name != MANIFEST
               and p.relative_to(folder).as_posix() not in ours]
    if foreign:
        raise BackendError(f"{folder} also holds {len(foreign)} file(s) ftx did not write ({foreign[0]} ...); "
                           "nothing was changed", hint="move them away, or give --out another folder")
    return manifest


def _remove_listed(folder: Path, manifest: dict[str, Any]) -> None:
    """Remove the files an earlier download wrote (as its manifest lists them), then the folders
    they leave empty; nothing else."""
    for name in manifest.get("files") or []:
        parts = Path(str(name)).parts
        if not parts or Path(str(name)).is_absolute() or ".." in parts:
            continue  # never a path outside the folder, whatever the manifest says
        path = folder / name
        if path.is_symlink() or path.resolve().is_relative_to(folder.resolve()):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                path.unlink()
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            sub.rmdir()  # only empty ones go


def fetch(provider: Any, job: RemoteJob, checkpoint: str, step: int | None, folder: Path) -> tuple[Path, int, str]:
    """One attempt: stream the weights to a temporary file in ``folder``; (path, bytes, sha256).
    Any failure, an interruption included, removes the temporary file."""
    return write_part(lambda: provider.download(job, checkpoint, step), folder)


def _pick(provider: Any, job: RemoteJob, checkpoint: str | None, label: str) -> str:
    offered = tuple(getattr(provider, "downloads", ()))
    if checkpoint is not None and checkpoint not in offered:
        raise BackendError(f"{label} serves {', '.join(offered)}, not {checkpoint!r}")
    refusals = []
    for candidate in (checkpoint,) if checkpoint else offered:
        refusal = provider.download_refusal(job, candidate)
        if refusal is None:
            return candidate
        if checkpoint:
            raise BackendError(f"{label}: {refusal}; nothing was downloaded")
        refusals.append(refusal)
    raise BackendError(f"{label} job {job.id} has none of {', '.join(offered)} to download: "
                       f"{'; '.join(dict.fromkeys(refusals))}")


def download_weights(registry: Any, run: Any, *, checkpoint: str | None = None, step: int | None = None,
                     out: str | Path | None = None, force: bool = False,
                     keep_archive: bool = False) -> DownloadedArtifact:
    """Download the weights of ``run``'s succeeded job (see the module docstring)."""
    from ..components import get_backend
    from ..hosted_watch import open_session, output_dir

    backend = get_backend(run.backend)
    if not isinstance(backend, HostedBackend):
        raise BackendError(f"run {run.id} is on backend {run.backend!r}, which is not hosted: "
                           f"its model is in {run.output_dir or 'its run folder'}")
    label = backend.provider_label
    cls = backend.provider_class()
    if not getattr(cls, "downloads", ()):
        raise BackendError(cls.no_downloads.format(label=label))
    with command_deadline():
        session = open_session(registry, run)
        provider = session.provider
        try:
            job = retrying(f"reading {label} job {run.remote_job_id}", provider.get_job, run.remote_job_id)
            if job.status != "succeeded":
                hint = f"ftx jobs wait {run.id}" if not job.finished else None
                raise BackendError(f"{label} job {job.id} is {job.status} ({job.provider_status}): only a succeeded "
                                   "job's weights can be downloaded", hint=hint)
            chosen = _pick(provider, job, checkpoint, label)
            folder = Path(out).expanduser() if out else output_dir(run) / "download" / folder_name(chosen, step)
            folder = folder.absolute()
            previous = check_destination(folder, force)
            return _download(registry, run, provider, job, chosen, step, folder, previous, keep_archive, label)
        finally:
            provider.close()


def download_when_succeeded(registry: Any, run: Any, provider: Any, job: RemoteJob,
                            label: str) -> DownloadedArtifact | None:
    """The download a recipe asks for when its job succeeds
    (:meth:`HostedProvider.download_when_succeeded`), into the default folder, streamed like
    ``ftx jobs download``; ``None`` when none is asked or the folder already holds it (finishing a
    run again, as ``ftx jobs status`` does, downloads nothing twice)."""
    checkpoint = provider.download_when_succeeded()
    if not checkpoint or job.status != "succeeded" or not getattr(type(provider), "downloads", ()):
        return None
    from ..hosted_watch import output_dir

    chosen = _pick(provider, job, checkpoint, label)
    folder = (output_dir(run) / "download" / folder_name(chosen, None)).absolute()
    if read_manifest(folder) is not None:
        return None
    check_destination(folder, force=False)
    return _download(registry, run, provider, job, chosen, None, folder, None, False, label)


def _download(registry: Any, run: Any, provider: Any, job: RemoteJob, checkpoint: str, step: int | None,
              folder: Path, previous: dict[str, Any] | None, keep_archive: bool, label: str) -> DownloadedArtifact:
    created = not folder.exists()
    what = f"the {folder_name(checkpoint, step)} of {label} job {job.id}"
    try:
        listed = retrying(f"asking {label} for the files of {what}", provider.download_files, job, checkpoint, step)
        if listed is not None:  # several files, as served: every name checked before anything is written
            listed = check_listing(listed, folder, f"{label}'s file list for {what}", (MANIFEST,))
        folder.mkdir(parents=True, exist_ok=True)
        try:
            if listed is None:
                result = _archive(provider, job, checkpoint, step, folder, previous, keep_archive, what)
            else:
                def clear() -> None:
                    if previous is not None:
                        _remove_listed(folder, previous)

                files, served = land_files(listed, folder, what, clear)
                result = DownloadedArtifact(checkpoint=checkpoint, step=step, folder=str(folder),
                                            bytes=sum(f["bytes"] for f in served.values()),
                                            sha256=combined_sha256(served), format="files", files=files, served=served)
        except KeyboardInterrupt:
            raise BackendError(f"interrupted while downloading {what}; nothing was kept",
                               hint="run the same command again") from None
    except BaseException as exc:
        if created and folder.is_dir() and not any(folder.iterdir()):
            shutil.rmtree(folder, ignore_errors=True)
        if not isinstance(exc, KeyboardInterrupt):
            registry.add_event(run.id, "warning", f"download of {what} failed: {exc}")
        raise
    _record(registry, run, job, result, label)
    return result


def _archive(provider: Any, job: RemoteJob, checkpoint: str, step: int | None, folder: Path,
             previous: dict[str, Any] | None, keep_archive: bool, what: str) -> DownloadedArtifact:
    """One stream (:meth:`HostedProvider.download`): fetched, told apart, unpacked, moved in."""
    part: Path | None = None
    staging: Path | None = None
    source: Path | None = None
    try:
        part, size, sha256 = retrying(f"downloading {what}", fetch, provider, job, checkpoint, step, folder)
        fmt = sniff(part)
        why_not = can_unpack(fmt)
        files: list[str] = []
        if why_not is None:
            staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=folder))
            unpack(part, fmt, staging)
            source = _single_top(staging)
        if previous is not None:
            _remove_listed(folder, previous)
        archive = None
        if why_not is not None or keep_archive:
            archive = folder_name(checkpoint, step) + extension(fmt)
            os.replace(part, folder / archive)  # complete and flushed: only now under its final name
            part = None
            files.append(archive)
        if source is not None:
            files += _move_in(source, folder)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if part is not None:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
    return DownloadedArtifact(checkpoint=checkpoint, step=step, folder=str(folder), bytes=size, sha256=sha256,
                              format=fmt, files=sorted(files), archive=archive, not_unpacked=why_not)


def _single_top(staging: Path) -> Path:
    """The folder whose contents go into the destination: an archive's single top folder, else all."""
    entries = list(staging.iterdir())
    if len(entries) == 1 and entries[0].is_dir() and not entries[0].is_symlink():
        return entries[0]
    return staging


def _move_in(source: Path, folder: Path) -> list[str]:
    moved = []
    for entry in sorted(source.iterdir()):
        target = folder / entry.name
        if target.exists() or target.is_symlink():
            raise BackendError(f"{target} already exists; nothing more was moved into {folder}")
        os.replace(entry, target)
        if target.is_dir() and not target.is_symlink():
            moved += [p.relative_to(folder).as_posix() for p in target.rglob("*") if p.is_file() or p.is_symlink()]
        else:
            moved.append(entry.name)
    return moved


def _record(registry: Any, run: Any, job: RemoteJob, result: DownloadedArtifact, label: str) -> None:
    from ..data.atomic import atomic_write

    now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    name = folder_name(result.checkpoint, result.step)
    details = {"job": job.id, "checkpoint": result.checkpoint, "step": result.step, "folder": result.folder,
               "bytes": result.bytes, "sha256": result.sha256, "format": result.format, "archive": result.archive,
               "files": len(result.files), "at": now}
    if result.not_unpacked:
        details["not_unpacked"] = result.not_unpacked
    if result.served:  # several files: each one's size and sha256 (the sha256 above is of their listing)
        details["served"] = result.served
    with atomic_write(Path(result.folder) / MANIFEST) as handle:
        json.dump({**details, "files": result.files}, handle, indent=2)
    current = registry.get_run(run.id)
    downloads = dict((current.extra or {}).get("downloads") or {})
    downloads[name] = details
    registry.merge_json(run.id, "extra", {"downloads": downloads})
    registry.merge_json(run.id, "artifacts", {f"download:{name}": result.folder})
    kept = f"; kept as {result.archive}" if result.archive else ""
    registry.add_event(run.id, "info", f"downloaded the {name} of {label} job {job.id}: {result.bytes:,} bytes, "
                                       f"sha256 {result.sha256}, {result.format}, {len(result.files)} file(s) in "
                                       f"{result.folder}{kept}")
