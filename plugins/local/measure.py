"""Peak memory of a run, as the operating system and CUDA count it.

On CPU the peak is the process's high-water mark (``VmHWM`` in /proc/self/status, the same
figure as ``getrusage().ru_maxrss``): the kernel records it at every page fault, so it catches
the peaks inside a step (the backward pass, the optimizer update) that sampling at step ends
misses. It is the whole process's peak, model loading included. On CUDA the peak is
``torch.cuda.max_memory_allocated`` since the run started (tensors), with the allocator's
reserved peak beside it.

The high-water mark counts file-backed pages too: the shared libraries' code (torch's alone is
434 MB on disk) and weights read through mmap. How much library code is resident depends on the
page cache, not on the run: the kernel (Linux 6.18 here; "mm/filemap: map entire large folio
faultaround") maps a cached large folio whole on a fault, so freshly installed libraries (written
in large folios) or ones read through count up to ~170 MB more than the same libraries faulted
back in small pieces (measured:
``benchmarks/memory_calibration.py``, docs/benchmarks.md). So on CPU the result has two more
figures: ``library_code_mb``, the libraries' resident code at the end of the run (the
file-backed pages of every mapped shared object and executable, from /proc/self/smaps), and
``peak_working_mb``, the peak less that code: the run's own memory (the interpreter's objects,
the weights, whether read into memory or mmapped, optimizer state, activations), which is what
the estimate's terms model and what does not depend on the page cache. Code pages stay mapped
once faulted, so the end-of-run count is at least what was resident at the peak, and the
working peak is never overstated. ``rss_file_backed_mb`` (every file-backed resident page at
the end, mmapped weights included) is kept beside them.
"""

from __future__ import annotations

import re
import resource
import sys
from typing import Any

_SHARED_OBJECT = re.compile(r"\.so(\.|$)")


def _status(key: str) -> int | None:
    """A memory line of /proc/self/status in bytes (None off Linux)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def library_code_bytes() -> int | None:
    """Resident file-backed pages of the process's shared objects and executables (bytes;
    None off Linux): each mapping's ``Rss`` less its ``Anonymous`` (copy-on-write) pages, for
    every file mapped executable or named like a shared object. Model weights read through mmap
    are neither, so they are not counted here."""
    try:
        fh = open("/proc/self/smaps", encoding="utf-8", errors="replace")
    except OSError:
        return None
    resident: dict[str, int] = {}
    code: set[str] = set()
    path = None
    with fh:
        for line in fh:
            key, _, rest = line.partition(" ")
            if not key.endswith(":"):  # a mapping's header: address perms offset dev inode [path]
                fields = rest.split(None, 4)
                path = fields[4].rstrip("\n") if len(fields) > 4 and fields[4].startswith("/") else None
                if path and "x" in fields[0]:
                    code.add(path)
            elif path is not None and key in ("Rss:", "Anonymous:"):
                kb = int(rest.split()[0]) * 1024
                resident[path] = resident.get(path, 0) + (kb if key == "Rss:" else -kb)
    return sum(v for p, v in resident.items() if p in code or _SHARED_OBJECT.search(p.rsplit("/", 1)[-1]))


def high_water_bytes() -> int:
    """The process's peak resident memory so far (bytes)."""
    peak = _status("VmHWM")
    if peak is not None:
        return peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, kilobytes on Linux


class PeakMemory:
    def __init__(self, device: str):
        self.device = device
        self.sampled_rss = 0
        self._process: Any = None
        try:
            import psutil

            self._process = psutil.Process()
        except ImportError:  # pragma: no cover - psutil comes with accelerate
            self._process = None
        if device == "cuda":
            import torch

            torch.cuda.reset_peak_memory_stats()
        self.sample()

    def sample(self) -> None:
        if self._process is not None:
            self.sampled_rss = max(self.sampled_rss, self._process.memory_info().rss)

    def result(self) -> dict[str, Any]:
        self.sample()
        rss = max(high_water_bytes(), self.sampled_rss)
        out: dict[str, Any] = {"peak_rss_mb": round(rss / 2**20, 1),
                               "peak_rss_sampled_mb": round(self.sampled_rss / 2**20, 1)}
        mapped = _status("RssFile")
        if mapped is not None:  # libraries' code and mmapped weights: part of the peak, see the module docstring
            out["rss_file_backed_mb"] = round(mapped / 2**20, 1)
        library = library_code_bytes() if self.device != "cuda" else None
        if library is not None:
            out["library_code_mb"] = round(library / 2**20, 1)
            out["peak_working_mb"] = round((rss - library) / 2**20, 1)
        if self.device == "cuda":
            import torch

            out["peak_cuda_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
            out["peak_cuda_reserved_mb"] = round(torch.cuda.max_memory_reserved() / 2**20, 1)
            out["peak_memory_mb"], out["peak_memory_kind"] = out["peak_cuda_allocated_mb"], "cuda max_memory_allocated"
        else:
            out["peak_memory_mb"], out["peak_memory_kind"] = out["peak_rss_mb"], "process high-water mark (VmHWM)"
        return out

    def callback(self) -> Any:
        from transformers import TrainerCallback

        meter = self

        class MemoryCallback(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                meter.sample()

        return MemoryCallback()


def predicted_peak(recipe: Any, device: str, train: list, validation: list) -> dict[str, Any]:
    """The local estimate's peak for this run's device, beside which the measured one is
    recorded (``{}`` when ftx cannot estimate it: unknown model size, GPU not in the catalog)."""
    import os

    from ftx.errors import FtxError

    from .backend import LocalBackend
    from .estimate import estimate

    gpu = "cpu"
    if device == "cuda":
        import torch

        gpu = os.environ.get("FTX_GPU") or torch.cuda.get_device_name()
    try:
        est = estimate(LocalBackend(), recipe, {"gpu": gpu, "train_set": train, "validation_set": validation})
    except FtxError:
        return {}
    if not est.available or est.peak_memory_gb is None:
        return {}
    parts = est.breakdown or {}  # to the MB (peak_memory_gb is rounded for the table)
    total = sum(parts.values()) if parts else est.peak_memory_gb
    out = {"predicted_peak_memory_mb": round(total * 1e9 / 2**20, 1), "predicted_on": est.device}
    if parts.get("library_code"):
        out["predicted_working_mb"] = round((total - parts["library_code"]) * 1e9 / 2**20, 1)
    return out


def memory_errors(summary: dict[str, Any], predicted: dict[str, Any]) -> dict[str, Any]:
    """The estimate's errors (measured / predicted - 1): of the whole peak, and on CPU of the
    working peak (the peak less the libraries' code pages, whose residency depends on the page
    cache rather than on the run; see the module docstring)."""
    out: dict[str, Any] = {}
    measured, whole = summary.get("peak_memory_mb"), predicted.get("predicted_peak_memory_mb")
    if measured and whole:
        out["peak_memory_error"] = round(measured / whole - 1, 4)
    working, own = summary.get("peak_working_mb"), predicted.get("predicted_working_mb")
    if working and own:
        out["working_memory_error"] = round(working / own - 1, 4)
    return out
