"""Where a hosted dry run spends its CPU: ``ftx run RECIPE --backend openai --dry-run`` in this
process, with the main steps wrapped by CPU-time counters (``time.thread_time``). Prints one JSON
object: seconds per step (a step's figure includes the steps it calls: ``compute_stats`` includes
the duplicate index when it is built in this process), the tokenizer's own share (the texts the
command counted, counted again alone) and the whole command's.

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
    ("token counts of every text, one pass", "ftx.data.tokens", "OpenAICounter.count_all"),
    # A hosted plan on 2 cores: the forked child counts a share (not in this process's figure).
    ("token counts of every text, one pass", "ftx.data.token_share", "plan_share"),
    ("token counts of every text, one pass", "ftx.data.token_share", "Share.finish"),
    ("statistics (and the duplicate index when built in this process)", "ftx.data.stats", "compute_stats"),
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
    for label, module, path in STEPS:
        _wrap(spent, label, module, path)
    from ftx.cli import main as ftx_main

    sys.argv = ["ftx", "run", recipe, "--backend", "openai", "--dry-run"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            ftx_main()
        except SystemExit:
            pass
    whole = time.thread_time() - started
    # The tokenizer's own share, measured apart (a wrapper around each of its calls would cost
    # more than the calls): the texts the command counted, counted again by the native tokenizer.
    from ftx.data import tokens

    counter = tokens.get_counter("o200k_base")
    texts = list(getattr(counter, "_memo", {}))
    native = tokens._bpe_count_function("o200k_base")
    t = time.thread_time()
    list(map(native, texts))
    spent["token counting (the tokenizer itself, its texts again)"] = time.thread_time() - t
    order = [label for label, _, _ in STEPS] + ["token counting (the tokenizer itself, its texts again)"]
    out = {label: round(spent[label], 2) for label in dict.fromkeys(order) if label in spent}
    out["whole command (main thread)"] = round(whole, 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
