"""Where a hosted dry run spends its CPU: ``ftx run RECIPE --backend openai --dry-run`` in this
process, with the main steps wrapped by CPU-time counters (``time.thread_time``). Prints one JSON
object: seconds per step (a step's figure includes the steps it calls: ``compute_stats`` includes
the duplicate index and the token counting done while it runs) and the whole command's.

Used by bench_hosted_launch.py (``dry_run_stages_cpu_s`` in its results); run alone:
.venv/bin/python benchmarks/launch_stages.py RECIPE
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import json
import sys
import time
from collections import defaultdict

# (label, module, attribute path)
STEPS = [
    ("read and parse the data", "ftx.data.plan", "_read_splits"),
    ("statistics (with the token counting, and the duplicate index when built in this process)", "ftx.data.stats", "compute_stats"),
    ("duplicate index", "ftx.data.dedupe", "DedupeIndex.add"),
    ("duplicate index", "ftx.data.dedupe", "DedupeIndex.report"),
    ("duplicate index", "ftx.data.dedupe", "DedupeIndex.leaks"),
    ("provider records, checks, upload files", "ftx.hosted.prepare", "prepare_job"),
]


def _wrap(spent: dict[str, float], label: str, module: str, path: str) -> None:
    owner = importlib.import_module(module)
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    real = getattr(owner, name)

    @functools.wraps(real)
    def timed(*args, **kwargs):
        started = time.thread_time()
        try:
            return real(*args, **kwargs)
        finally:
            spent[label] += time.thread_time() - started

    setattr(owner, name, timed)


def main() -> None:
    recipe = sys.argv[1]
    spent: dict[str, float] = defaultdict(float)
    started = time.thread_time()
    from ftx.data import tokens

    real_bpe = tokens._bpe_count_function

    def timed_bpe(encoding):  # the tokenizer's own work (each distinct text once: the memo answers the rest)
        count = real_bpe(encoding)

        def counted(text):
            t = time.thread_time()
            try:
                return count(text)
            finally:
                spent["token counting (the tokenizer itself)"] += time.thread_time() - t

        return counted

    tokens._bpe_count_function = timed_bpe
    for label, module, path in STEPS:
        _wrap(spent, label, module, path)
    from ftx.cli import main as ftx_main

    sys.argv = ["ftx", "run", recipe, "--backend", "openai", "--dry-run"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            ftx_main()
        except SystemExit:
            pass
    order = [label for label, _, _ in STEPS] + ["token counting (the tokenizer itself)"]
    out = {label: round(spent[label], 2) for label in dict.fromkeys(order) if label in spent}
    out["whole command (main thread)"] = round(time.thread_time() - started, 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
