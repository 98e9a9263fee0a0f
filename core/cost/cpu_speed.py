"""How fast this machine's CPU runs the per-step work of a small model, against the machine the
CPU row of gpus.yaml was calibrated on.

A small model's training step on a CPU is mostly fixed cost: Python in transformers, peft and
trl, and torch's dispatch of many small operators (``ftx/tiny-llama``'s steps are pure overhead).
That cost scales with the core's single-thread speed, which differs between machines of the same
kind by 2-3x (measured: the same quickstart ran at 3.5-7.8k tokens/s on one 2-core machine, 15-20k
on another). So the CPU row's ``step_overhead_s`` is the calibration machine's, scaled by a probe:
the best of a few runs of a fixed interpreter workload (dict and integer arithmetic, ~1 ms each),
divided by the same probe's time on the calibration machine (``probe_reference_s``). Best-of
runs, so another process taking the core for a moment does not count; the factor is clamped to
[1/4, 4]. Measured once per process (about 5 ms). The compute part (FLOPs at the MFU) is not
scaled: vector width and memory bandwidth, not the interpreter, set it.
"""

from __future__ import annotations

import time
from functools import lru_cache

RUNS = 5
CLAMP = (0.25, 4.0)


def _workload() -> float:
    started = time.perf_counter()
    table: dict[int, int] = {}
    total = 0
    for i in range(12_000):
        key = i & 255
        value = (table.get(key, 0) + i) * 3 % 1_000_003
        table[key] = value
        total ^= value
    elapsed = time.perf_counter() - started
    return elapsed if total >= 0 else elapsed  # keep the loop's result alive


@lru_cache(maxsize=1)
def probe_seconds() -> float:
    """The best of :data:`RUNS` timings of the workload on this machine, in seconds."""
    return min(_workload() for _ in range(RUNS))


def slowdown(reference_s: float) -> float:
    """This machine's per-step time over the calibration machine's (> 1: slower), clamped."""
    if reference_s <= 0:
        return 1.0
    low, high = CLAMP
    return min(high, max(low, probe_seconds() / reference_s))
