"""Evaluation throughput: local batched generation vs one prompt at a time, and hosted inference
against the fake OpenAI server at concurrency 1 vs 8 (each request held 50 ms, like a network).

Writes benchmarks/results/eval.json. Both baselines are measured in the same run.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/bench_eval.py [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "recipes" / "data" / "quickstart-test.jsonl").read_text().splitlines()]
    qs = [r["messages"][0]["content"] for r in rows]
    return (qs * (n // len(qs) + 1))[:n]


def bench_local(n: int, max_new_tokens: int, batch: int, repeat: int) -> dict:
    from ftx.inference import GenerationParams, ModelRef
    from ftx.plugins.local.batch_generate import open_generator
    from ftx.plugins.local.samples import generate as one_prompt

    import torch

    torch.set_num_threads(1)  # a fair, steady comparison on a shared machine
    prompts = questions(n)
    gen = open_generator(ModelRef("local", "base", "ftx/tiny-llama"), GenerationParams(max_new_tokens), batch_size=batch)
    gen.generate(prompts[:batch])  # warm-up
    from ftx.example import Message

    def batched():
        return gen.generate(prompts)

    def sequential():  # what ftx generate did before: one prompt per model.generate call
        return [one_prompt(gen._model, gen._tokenizer, [Message("user", p)], max_new_tokens) for p in prompts]

    times = {"batched": [], "one_by_one": []}
    answers = {}
    for _ in range(repeat):  # interleaved
        for name, fn in (("one_by_one", sequential), ("batched", batched)):
            t = time.perf_counter()
            answers[name] = fn()
            times[name].append(time.perf_counter() - t)
    best = {k: min(v) for k, v in times.items()}
    return {"prompts": n, "max_new_tokens": max_new_tokens, "batch_size": batch, "torch_threads": 1,
            "seconds": {k: [round(x, 3) for x in v] for k, v in times.items()},
            "examples_per_s": {k: round(n / best[k], 2) for k in best},
            "speedup": round(best["one_by_one"] / best["batched"], 2),
            "same_answers": answers["batched"] == answers["one_by_one"]}


def _hosted(n: int, delay: float) -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    from fakes.openai_server import FakeOpenAI

    from ftx import hosted_retry
    from ftx.inference import GenerationParams, ModelRef
    from ftx.inference_cache import ResponseCache
    from ftx.providers.openai.inference import OpenAIChatGenerator

    hosted_retry.set_default_policy(hosted_retry.RetryPolicy(attempts=3, initial_wait=0.01, max_wait=0.1, jitter=0))
    prompts = [f"{q} (#{i})" for i, q in enumerate(questions(n))]
    out: dict = {"prompts": n, "request_delay_s": delay}
    with FakeOpenAI(lifetime=600) as server, tempfile.TemporaryDirectory() as tmp:
        os.environ.update(OPENAI_BASE_URL=server.url, OPENAI_API_KEY="sk-bench-0123456789abcdef")
        server.inject("POST", "/chat/completions", kind="delay", delay=delay, times=10 ** 6)
        for conc in (1, 8):
            cache = ResponseCache(Path(tmp) / f"c{conc}.db")
            gen = OpenAIChatGenerator("openai", {"base_url": server.url}, ModelRef("openai", "base", "gpt-4.1-nano"),
                                      GenerationParams(16), "OpenAI", concurrency=conc)
            gen.cache = cache
            t = time.perf_counter()
            gen.generate(prompts)
            seconds = time.perf_counter() - t
            t = time.perf_counter()
            gen.generate(prompts)  # the re-run: every answer from the cache
            cached = time.perf_counter() - t
            out[f"concurrency_{conc}"] = {"seconds": round(seconds, 3), "examples_per_s": round(n / seconds, 2),
                                          "rerun_seconds": round(cached, 4), "requests": gen.usage["requests"]}
            gen.close()
    out["speedup"] = round(out["concurrency_1"]["seconds"] / out["concurrency_8"]["seconds"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--out", default=str(HERE / "results" / "eval.json"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    home = tempfile.mkdtemp(prefix="ftx-bench-eval-")
    os.environ["FTX_HOME"] = home
    n_local, n_hosted = (16, 16) if args.quick else (64, 48)
    result = {
        "quick": args.quick, "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "local": bench_local(n_local, 16, 16, 1 if args.quick else 3),
        "hosted": _hosted(n_hosted, 0.05),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({"local": result["local"]["examples_per_s"], "local_speedup": result["local"]["speedup"],
                      "hosted_speedup": result["hosted"]["speedup"]}))


if __name__ == "__main__":
    main()
