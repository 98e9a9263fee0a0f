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


def main() -> None:
    out = ROOT / "docs" / "benchmarks.md"
    out.write_text(HEADER + foundation() + tokens() + local())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
