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
``benchmarks/memory_calibration.py``, docs/benchmarks.md). ``rss_file_backed_mb`` (the
file-backed resident pages at the end of the run) shows that share beside the peak.
"""

from __future__ import annotations

import resource
import sys
from typing import Any


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
    return {"predicted_peak_memory_mb": round(est.peak_memory_gb * 1e9 / 2**20, 1),
            "predicted_on": est.device}
