"""Measured vs estimated peak memory of local runs on a spread of shapes (CPU).

Each case trains a seeded random-weight Llama for two steps with ``run_local`` in a fresh
process (so the process high-water mark is the run's own), on data whose every sequence is
truncated at ``max_length`` (so the estimate's sequence length is the real one), and reads the
summary's measured peak (VmHWM). The prediction is the local estimate for this machine's CPU,
computed here from the same recipe (``--predict-only FILE`` recomputes it for measurements
already made, after the estimator changes).

``CASES`` spans tiny / ~20M / ~100M parameters, vocabularies of 525 (the tiny tokenizer) and
32k, LoRA and full fine-tuning and two sequence lengths. ``QUICK`` is the subset the
calibration test runs (tests/cost/test_memory_calibration.py).

The high-water mark counts the libraries' resident code pages, whose share depends on the page
cache (a fresh install's libraries sit in large folios, which the kernel maps whole), so the
tolerance is checked on the working peak (the peak less the libraries' code, both measured by
the run: ``ftx.plugins.local.measure``) against the estimate less its library-code term; the
whole peak's error is recorded beside it.
``--library-pages evicted`` or ``read`` puts the installed libraries in one state before each
case; each row records the resident file-backed and anonymous memory at the end of the run.

Run: .venv/bin/python benchmarks/memory_calibration.py [--quick]  -> benchmarks/results/memory.json
(a fresh install's run: results/memory_fresh_install.json; one case per page-cache state:
results/memory_library_pages.json)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from results_file import write_result  # noqa: E402

TOLERANCE = 0.15

SHAPES = {
    "tiny": None,  # ftx/tiny-llama itself
    "20m-v525": dict(hidden_size=512, intermediate_size=1376, num_hidden_layers=6, num_attention_heads=8,
                     num_key_value_heads=8, vocab_size=None),
    "20m-v32k": dict(hidden_size=384, intermediate_size=1024, num_hidden_layers=4, num_attention_heads=6,
                     num_key_value_heads=6, vocab_size=32_000),
    "100m-v32k": dict(hidden_size=640, intermediate_size=1728, num_hidden_layers=12, num_attention_heads=10,
                      num_key_value_heads=10, vocab_size=32_000),
}
# Every size, both vocabularies, both methods and both lengths appear (not every combination:
# the 100M model at 512 tokens takes minutes on two shared cores).
CASES = [("tiny", "lora", 128), ("tiny", "lora", 512), ("tiny", "full", 128), ("tiny", "full", 512),
         ("20m-v525", "lora", 128), ("20m-v525", "lora", 512), ("20m-v525", "full", 128),
         ("20m-v32k", "lora", 128), ("20m-v32k", "full", 512), ("100m-v32k", "lora", 128),
         ("100m-v32k", "full", 128)]
QUICK = [("tiny", "lora", 128), ("20m-v32k", "lora", 128)]

CHILD = r"""
import json, os, sys
os.environ["FTX_HOME"] = sys.argv[1]
from ftx.plugins.local.train import run_local
from ftx.recipe import load_recipe
summary = run_local(load_recipe(sys.argv[2], [], backend="local"), None, echo=lambda _: None, progress=False)
status = {l.split(":")[0]: int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(("RssAnon", "RssFile"))}
print("RESULT " + json.dumps({**{k: summary.get(k) for k in (
    "peak_memory_mb", "peak_rss_sampled_mb", "total_parameters", "library_code_mb", "peak_working_mb")},
    "end_rss_anon_mb": round(status.get("RssAnon", 0) / 1024, 1),
    "end_rss_file_mb": round(status.get("RssFile", 0) / 1024, 1)}))
"""


def build(shape: str, out: Path) -> str:
    """The model folder (or name) for ``shape``."""
    if SHAPES[shape] is None:
        return "ftx/tiny-llama"
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from ftx.plugins.local.tiny_model import ensure_tiny_model

    tokenizer = AutoTokenizer.from_pretrained(str(ensure_tiny_model()))
    dims = dict(SHAPES[shape])
    dims["vocab_size"] = dims["vocab_size"] or len(tokenizer)
    config = LlamaConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, max_position_embeddings=1024,
                         tie_word_embeddings=False, **dims)
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return str(out)


def long_rows(n: int) -> list[dict[str, Any]]:
    """Chat rows longer than any max_length used here: every sequence is truncated to it."""
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    answer = " ".join(words[i % len(words)] for i in range(900))
    return [{"messages": [{"role": "user", "content": f"question {i}?"}, {"role": "assistant", "content": answer}]}
            for i in range(n)]


def _recipe(work: Path, models: dict[str, str], shape: str, method: str, seq: int) -> Path:
    if shape not in models:
        models[shape] = build(shape, work / shape)
    train = work / "train.jsonl"
    if not train.exists():
        train.write_text("".join(json.dumps(r) + "\n" for r in long_rows(16)), encoding="utf-8")
    recipe = work / f"{shape}-{method}-{seq}.yaml"
    recipe.write_text(json.dumps({
        "name": f"mem-{shape}-{method}-{seq}", "model": {"local": models[shape]}, "data": {"train": str(train)},
        "method": {"name": method}, "hyperparameters": {"max_steps": 2, "batch_size": 4, "max_length": seq},
        "eval": {"strategy": "no", "baseline": False, "samples": []},
        "backends": {"local": {"cpu_threads": 2}}}), encoding="utf-8")
    return recipe


def predict(recipe_path: Path) -> dict[str, Any]:
    """The local estimate's peak and working peak (MiB) for the recipe on this machine's CPU."""
    from ftx.data.plan import load_splits
    from ftx.plugins.local.measure import predicted_peak
    from ftx.recipe import load_recipe

    recipe = load_recipe(str(recipe_path), [], backend="local")
    train, validation, _ = load_splits(recipe)
    predicted = predicted_peak(recipe, "cpu", train, validation)
    return {k: predicted[k] for k in ("predicted_peak_memory_mb", "predicted_working_mb")}


def _with_prediction(row: dict[str, Any], predicted: dict[str, Any]) -> dict[str, Any]:
    from ftx.plugins.local.measure import memory_errors

    return {**row, **predicted, **memory_errors(row, predicted)}


def library_files() -> list[Path]:
    """The shared libraries of the installed packages (torch's, numpy's, tokenizers', ...)."""
    import site

    roots = {Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()}
    roots |= {Path(p) for p in site.getsitepackages() if Path(p).is_dir()}
    return sorted({f.resolve() for root in roots for f in root.rglob("*.so*") if f.is_file() and not f.is_symlink()})


def set_library_pages(state: str) -> None:
    """Put the libraries' pages in the page cache in ``state``: ``evicted`` drops them (the
    next run faults them back in small pieces), ``read`` drops them and reads each file through
    (the page cache then holds them in large folios, as after a fresh install). Only the cache
    changes, never a file."""
    for path in library_files():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            if state == "read":
                while os.read(fd, 1 << 20):
                    pass
        finally:
            os.close(fd)


def measure(cases: list[tuple[str, str, int]], work: Path, library_pages: str | None = None) -> list[dict[str, Any]]:
    os.environ.setdefault("FTX_HOME", str(work / "home"))
    home = os.environ["FTX_HOME"]
    from ftx.plugins.local.tiny_model import ensure_tiny_model

    ensure_tiny_model()
    models: dict[str, str] = {}
    out = []
    for shape, method, seq in cases:
        recipe = _recipe(work, models, shape, method, seq)
        if library_pages:
            set_library_pages(library_pages)
        proc = subprocess.run([sys.executable, "-c", CHILD, home, str(recipe)], capture_output=True, text=True,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=900)
        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            raise RuntimeError(f"{shape} {method} {seq} failed: {proc.stderr[-2000:]}")
        row = _with_prediction({"shape": shape, "method": method, "max_length": seq, **json.loads(line[7:]),
                                **({"library_pages": library_pages} if library_pages else {})}, predict(recipe))
        out.append(row)
        _show(row)
    return out


def repredict(rows: list[dict[str, Any]], work: Path) -> list[dict[str, Any]]:
    """``rows`` (measured earlier) with the current estimator's predictions."""
    os.environ.setdefault("FTX_HOME", str(work / "home"))
    from ftx.plugins.local.tiny_model import ensure_tiny_model

    ensure_tiny_model()  # the estimate counts tokens with its tokenizer, as when measured
    models: dict[str, str] = {}
    out = []
    for row in rows:
        recipe = _recipe(work, models, row["shape"], row["method"], row["max_length"])
        out.append(_with_prediction(row, predict(recipe)))
        _show(out[-1])
    return out


def _show(row: dict[str, Any]) -> None:
    print(f"  {row['shape']:<10} {row['method']:<5} seq {row['max_length']:<4} measured {row['peak_memory_mb']:>7,.0f} MB"
          f"  estimated {row['predicted_peak_memory_mb']:>7,.0f} MB  error {row['peak_memory_error']:+.1%};"
          f"  less library code ({row['library_code_mb']:,.0f} MB): {row['peak_working_mb']:>7,.0f} MB"
          f"  estimated {row['predicted_working_mb']:>7,.0f} MB  error {row['working_memory_error']:+.1%}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the calibration test's subset")
    parser.add_argument("--cases", default=None, help="shape:method:length,... (default: all, or --quick's)")
    parser.add_argument("--merge", default=None, help="keep the cases of this earlier result not measured now")
    parser.add_argument("--predict-only", default=None, help="recompute the predictions of this result file")
    parser.add_argument("--library-pages", choices=("evicted", "read"), default=None,
                        help="before each case, drop the installed libraries from the page cache (evicted) "
                             "or drop and read them through (read); default: leave the cache as it is")
    parser.add_argument("--out", default=str(HERE / "results" / "memory.json"))
    args = parser.parse_args()
    cases = QUICK if args.quick else CASES
    if args.cases:
        cases = [(c.split(":")[0], c.split(":")[1], int(c.split(":")[2])) for c in args.cases.split(",")]
    with tempfile.TemporaryDirectory(prefix="ftx-memory-") as tmp:
        if args.predict_only:
            rows = repredict(json.loads(Path(args.predict_only).read_text())["cases"], Path(tmp))
        else:
            rows = measure(cases, Path(tmp), args.library_pages)
            if args.merge:
                done = {(r["shape"], r["method"], r["max_length"]) for r in rows}
                earlier = json.loads(Path(args.merge).read_text())["cases"]
                rows = [r for r in earlier if (r["shape"], r["method"], r["max_length"]) not in done] + rows
    # the tolerance holds for the working peak; the whole peak's error is kept beside it
    signed = max((r["working_memory_error"] for r in rows), key=abs)
    whole = max((r["peak_memory_error"] for r in rows), key=abs)
    codes = [r["library_code_mb"] for r in rows]
    result = {"quick": args.quick, "library_pages": args.library_pages or "as found",
              "python": sys.prefix, "tolerance": TOLERANCE, "worst_error": abs(signed), "worst_error_signed": signed,
              "all_within_tolerance": abs(signed) <= TOLERANCE, "worst_peak_error_signed": whole,
              "library_code_mb": [min(codes), max(codes)], "cases": rows}
    out = write_result(args.out, result)
    print(f"worst working-peak error {signed:+.1%} (tolerance {TOLERANCE:.0%}); whole peak {whole:+.1%}, "
          f"library code {min(codes):,.0f}-{max(codes):,.0f} MB -> {out}")


if __name__ == "__main__":
    main()
