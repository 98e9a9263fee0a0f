"""Peak memory of a run: process RSS on CPU (sampled every step), allocated memory on CUDA."""

from __future__ import annotations

from typing import Any


class PeakMemory:
    def __init__(self, device: str):
        self.device = device
        self.peak_rss = 0
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
            self.peak_rss = max(self.peak_rss, self._process.memory_info().rss)

    def result(self) -> dict[str, Any]:
        self.sample()
        rss = self.peak_rss
        if not rss:  # fall back to the lifetime peak the OS keeps (kilobytes on Linux)
            import resource

            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        out: dict[str, Any] = {"peak_rss_mb": round(rss / 2**20, 1)}
        if self.device == "cuda":
            import torch

            out["peak_cuda_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
            out["peak_memory_mb"], out["peak_memory_kind"] = out["peak_cuda_allocated_mb"], "cuda max_memory_allocated"
        else:
            out["peak_memory_mb"], out["peak_memory_kind"] = out["peak_rss_mb"], "process RSS"
        return out

    def callback(self) -> Any:
        from transformers import TrainerCallback

        meter = self

        class MemoryCallback(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                meter.sample()

        return MemoryCallback()
