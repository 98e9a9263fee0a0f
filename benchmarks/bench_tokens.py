"""Token-counting throughput for OpenAI billing estimates.

ftx's path (``ftx.providers.openai.billing.openai_tally`` over canonical examples, counting with
``ftx.data.tokens.get_counter`` = bpe-openai's native counter) against the plain per-message loop
of OpenAI's cookbook (``num_tokens_from_messages``: 3 tokens per message, role and content encoded
with tiktoken, +3 per example), same encoding (o200k_base), same 100k generated chat examples.

tiktoken downloads its rank file at run time; offline, this script primes a private tiktoken
cache with the o200k_base file bpe-openai ships (tiktoken checks its SHA-256 before using it).
The totals of both methods must be equal: the script fails otherwise.

Writes benchmarks/results/tokens.json. Run: .venv/bin/python benchmarks/bench_tokens.py [--n 100000]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.resources
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from results_file import write_result  # noqa: E402

HERE = Path(__file__).resolve().parent
O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
WORDS = ("the quick brown fox jumps over a lazy dog while models learn to follow instructions and "
         "answer questions about data formats tokens epochs adapters naïve café straße 東京 데이터 "
         "función €42 3.14159 print(x) {\"k\": [1, 2]} 😀 — résumé").split()


def make_examples(n: int, seed: int = 0) -> list[list[dict[str, str]]]:
    """``n`` chat conversations as OpenAI message dicts (system prompt on half, 1-3 turns)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        msgs = [{"role": "system", "content": "You are a helpful assistant."}] if i % 2 else []
        for _ in range(rng.randint(1, 3)):
            msgs.append({"role": "user", "content": f"{i}: " + " ".join(rng.choices(WORDS, k=rng.randint(4, 40)))})
            msgs.append({"role": "assistant", "content": " ".join(rng.choices(WORDS, k=rng.randint(8, 120)))})
        rows.append(msgs)
    return rows


def tiktoken_encoding():
    """tiktoken's o200k_base, loaded offline from a cache primed with bpe-openai's copy."""
    cache = Path(tempfile.mkdtemp(prefix="ftx-tiktoken-"))
    data = gzip.decompress(importlib.resources.files("bpe_openai.data").joinpath("o200k_base.tiktoken.gz").read_bytes())
    (cache / hashlib.sha1(O200K_URL.encode()).hexdigest()).write_bytes(data)
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
    import tiktoken

    return tiktoken.get_encoding("o200k_base")


def cookbook_total(rows, enc) -> int:
    """openai-cookbook ``num_tokens_from_messages`` (tokens_per_message=3), summed."""
    total = 0
    for messages in rows:
        n = 0
        for message in messages:
            n += 3
            for key, value in message.items():
                n += len(enc.encode(value))
                if key == "name":
                    n += 1
        total += n + 3
    return total


def ftx_total(examples, counter) -> int:
    from ftx.providers.openai.billing import openai_tally

    return openai_tally(examples, counter, limit=None).tokens


def best_of(repeat: int, fn, *args):
    times, value = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn(*args)
        times.append(time.perf_counter() - t)
    return value, min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "tokens.json"))
    args = parser.parse_args()

    from ftx.data.tokens import get_counter
    from ftx.example import Example, Message

    rows = make_examples(args.n)
    examples = [Example(messages=[Message(**m) for m in r]) for r in rows]
    counter = get_counter("gpt-4o-mini")
    counter.count("warm up")
    enc = tiktoken_encoding()
    enc.encode("warm up")

    ftx_tokens, ftx_best, ftx_median = best_of(args.repeat, ftx_total, examples, counter)
    ref_tokens, ref_best, ref_median = best_of(args.repeat, cookbook_total, rows, enc)
    if ftx_tokens != ref_tokens:
        raise SystemExit(f"totals differ: ftx {ftx_tokens} vs cookbook/tiktoken {ref_tokens}")
    result = {
        "examples": args.n, "messages": sum(len(r) for r in rows), "tokens": ftx_tokens, "encoding": "o200k_base",
        "repeat": args.repeat, "totals_equal": True,
        "ftx": {"method": "ftx.providers.openai.billing.openai_tally + bpe-openai native counter",
                "best_s": round(ftx_best, 3), "median_s": round(ftx_median, 3),
                "examples_per_s": round(args.n / ftx_best), "tokens_per_s": round(ftx_tokens / ftx_best)},
        "baseline": {"method": "cookbook num_tokens_from_messages loop with tiktoken",
                     "best_s": round(ref_best, 3), "median_s": round(ref_median, 3),
                     "examples_per_s": round(args.n / ref_best), "tokens_per_s": round(ref_tokens / ref_best)},
        "speedup_vs_baseline": round(ref_best / ftx_best, 2),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
    }
    out = write_result(args.out, result)
    print(f"{args.n:,} examples, {result['messages']:,} messages, {ftx_tokens:,} tokens (equal totals)")
    print(f"{'method':<46} {'best s':>8} {'examples/s':>12} {'tokens/s':>12}")
    for key in ("ftx", "baseline"):
        r = result[key]
        print(f"{r['method'][:46]:<46} {r['best_s']:>8.2f} {r['examples_per_s']:>12,} {r['tokens_per_s']:>12,}")
    print(f"ftx / baseline throughput: {result['speedup_vs_baseline']}x  -> {out}")


if __name__ == "__main__":
    sys.exit(main())
