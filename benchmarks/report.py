"""Rebuild docs/benchmarks.md from the JSON/markdown results in benchmarks/results/."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

HEADER = """# Benchmarks

Measured on this project's machines (2 CPU cores, 24 GB, no GPU) with the scripts in `benchmarks/`
(see `benchmarks/README.md`); raw results are in `benchmarks/results/`, and this page is rebuilt from
them by `benchmarks/report.py`. Every ratio is against a baseline measured in the same run; the
machine was shared while some of these ran, so read the ratios rather than absolute timings. No GPU
was lent to the session that measured these: LoRA vs QLoRA vs full on a ~0.5B model on a GPU (peak
memory, tokens/s, MFU) is still to be measured.
"""


def foundation() -> str:
    f = json.loads((RESULTS / "foundation.json").read_text())
    s, v = f["startup"], f["validate_100k"]
    mem = " / ".join(f"{g['peak_rss_mb']:.1f}" for g in f["memory_growth"])
    return f"""
## Foundation (`bench_foundation.py`)

| what | ftx | baseline (same run) | ratio |
| --- | ---: | ---: | ---: |
| `ftx --help` start-up | {s['ftx_help_s'] * 1000:.0f} ms | `python -c pass` {s['python_pass_s'] * 1000:.0f} ms | {s['ratio']:.1f}x |
| `ftx data validate`, 100k chat examples ({v['bytes'] / 1e6:.0f} MB) | {v['seconds']:.2f} s ({v['examples_per_s']:,.0f} ex/s) | bare `json.loads` loop {v['baseline_json_loop_seconds']:.2f} s | {v['ratio_vs_json_loop']:.1f}x |

Peak RSS of `ftx data validate` at 10k / 50k / 100k / 200k examples: {mem} MB, a ratio of
{f['memory_growth_ratio_200k_vs_10k']:.2f} from 10k to 200k: validation streams.
"""


def tokens() -> str:
    t = json.loads((RESULTS / "tokens.json").read_text())
    return f"""
## Token counting (`bench_tokens.py`)

OpenAI billing tokens ({t['encoding']}, chat framing) of {t['examples']:,} generated chat examples: ftx
{t['ftx']['examples_per_s']:,} examples/s vs the OpenAI cookbook `num_tokens_from_messages` loop with
tiktoken {t['baseline']['examples_per_s']:,} examples/s: **{t['speedup_vs_baseline']}x**, identical totals
({t['tokens']:,} tokens).
"""


def local() -> str:
    text = (RESULTS / "local.md").read_text().split("\n", 1)[1]
    return "\n## Local backend (`bench_local.py`)\n\n" + text.strip().replace("\n## ", "\n### ") + "\n"


def ray() -> str:
    path = RESULTS / "ray.json"
    if not path.exists():
        return ""
    r = json.loads(path.read_text())
    t, y = r["median"]["torchrun"], r["median"]["ray"]
    return f"""
## Ray vs torchrun (`bench_ray.py`)

The same 2-process CPU run through `ftx run --nproc 2` (torchrun, the baseline) and
`ftx run --ray --workers 2` (a new local Ray instance, Ray Train): {r['setup']}. {r['machine']}; load
average at start {r['load_average_start']}, at end {r['load_average_end']}. Total {r['total_s']} s.
Start-up = wall time - training time (processes, model load, sample answers, saving: both paths do
the same work besides starting Ray and its workers).

| | tokens/s | train s | start-up s | wall s |
| --- | ---: | ---: | ---: | ---: |
| torchrun (`--nproc 2`) | {t['tokens_per_second']:,.0f} | {t['train_s']:.1f} | {t['startup_s']:.1f} | {t['wall_s']:.1f} |
| Ray Train (`--ray --workers 2`) | {y['tokens_per_second']:,.0f} | {y['train_s']:.1f} | {y['startup_s']:.1f} | {y['wall_s']:.1f} |

tokens/s ratio Ray / torchrun: **{r['tokens_per_second_ratio_ray_vs_torchrun']}**; start-up
**{r['startup_ratio_ray_vs_torchrun']}x** (+{r['startup_extra_s']} s: starting a Ray instance, its
controller and the worker actors); wall time {r['wall_ratio_ray_vs_torchrun']}x. Same final loss on
both paths: {'yes' if r['same_final_loss'] else 'no'}. {_ray_reading(r)}
"""


def _ray_reading(r: dict) -> str:
    ratio = r["tokens_per_second_ratio_ray_vs_torchrun"]
    if ratio >= 1.05:
        per_step = (f"Per step the Ray workers trained {ratio}x as fast as the torchrun workers in every round; this "
                    "was measured on a heavily shared machine (see the load averages) and is not explained (both "
                    "paths run DDP over gloo with one torch thread per process), so read it as \"Ray adds no "
                    "per-step overhead\", not as a speed-up.")
    elif ratio >= 0.95:
        per_step = "Per step Ray adds no measurable overhead (the same DDP over gloo, plus one checkpoint copy per save)."
    else:
        per_step = f"Per step the Ray path ran at {ratio}x torchrun's throughput."
    return (per_step + " Ray's price is the start-up, which matters for short runs and disappears into long ones; "
            "on a machine this loaded, every process start (each imports torch and transformers) is slow, which "
            "inflates both start-up times.")


def main() -> None:
    out = ROOT / "docs" / "benchmarks.md"
    out.write_text(HEADER + foundation() + tokens() + local() + ray())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
