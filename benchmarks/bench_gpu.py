"""GPU benchmark: LoRA, QLoRA and full fine-tuning of a ~0.5B random-weight Llama, ftx's
defaults against TRL's, on one CUDA GPU (about 5 minutes on an H100-class GPU).

For each method, on the same generated variable-length chat data and the same number of
optimizer steps:

* ``ftx``: ``run_local`` on a recipe that names only the model, the data, the method and the
  step count (ftx's device-aware defaults: bf16 mixed precision, activation checkpointing,
  batches of 4);
* ``trl``: a hand-written ``SFTTrainer`` with TRL's ``SFTConfig`` defaults (batch 8, bf16,
  activation checkpointing, random order), the model loaded the way TRL's docs do it for the
  method (bf16; 4-bit nf4 for QLoRA; LoRA r 16 / alpha 32 on all linear layers as ftx);
* ``trl_liger`` (LoRA only, when ``liger-kernel`` is installed): the same with
  ``use_liger_kernel=True``.

Recorded per run: real (non-padding) tokens/s, padding share, the CUDA peak
(``max_memory_allocated``, reset before each run), and MFU = achieved FLOP/s over the GPU's
dense bf16 spec peak (ftx's device catalog, else the table below), with training FLOPs taken as
6 x parameters per real token for full fine-tuning and 4 x for adapters (no weight gradients of
the frozen base; the adapters' own FLOPs are negligible).

On a machine without CUDA it prints one "no CUDA" line and exits at once (status 0, nothing
written): ``tests/test_bench_gpu.py`` checks it. ``--smoke`` runs the same code on the CPU with a
small model and two steps (the wiring, not the figures; QLoRA skipped without CUDA).

Writes benchmarks/results/gpu.json. Run: .venv/bin/python benchmarks/bench_gpu.py [--steps 30]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# ~0.5B parameters: 24 layers of 1280 with a 32k vocabulary (untied), GQA 20 heads / 4 KV heads.
SHAPE = dict(hidden_size=1280, intermediate_size=3456, num_hidden_layers=24, num_attention_heads=20,
             num_key_value_heads=4, vocab_size=32_000, max_position_embeddings=2048)
SMOKE_SHAPE = dict(hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, vocab_size=1024, max_position_embeddings=2048)
# Dense bf16 tensor-core TFLOP/s (NVIDIA datasheets, no sparsity), when the catalog lacks the GPU.
SPEC_TFLOPS = {"h200": 989.0, "h100": 989.0, "gh200": 989.0, "a100": 312.0, "l40s": 362.0, "l4": 121.0,
               "a10g": 70.0, "a10": 125.0, "rtx 4090": 165.0, "t4": 65.0}
METHODS = ("lora", "qlora", "full")
NO_CUDA = "no CUDA: bench_gpu.py needs an NVIDIA GPU (torch.cuda.is_available() is False); nothing measured"


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU; without an NVIDIA driver node it answers before torch loads."""
    if sys.platform.startswith("linux") and not os.path.exists("/dev/nvidiactl"):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def spec_peak_tflops(name: str) -> tuple[float | None, str]:
    """(dense bf16 TFLOP/s, where it came from) for the GPU called ``name``."""
    from ftx.cost.catalog import load_devices

    low = name.lower()
    for dev in load_devices().values():
        names = {dev.key, dev.name.lower(), *dev.aliases}
        if not dev.is_cpu and any(n and n in low for n in names):
            return dev.peak_tflops, f"ftx device catalog ({dev.name})"
    for key, tflops in SPEC_TFLOPS.items():
        if key in low:
            return tflops, f"bench_gpu.py table ({key})"
    return None, "unknown GPU"


def build_model(out: Path, shape: dict[str, int], dtype: str) -> int:
    """A seeded random-weight Llama saved in ``dtype`` with the tiny model's tokenizer."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from ftx.plugins.local.tiny_model import ensure_tiny_model

    tokenizer = AutoTokenizer.from_pretrained(str(ensure_tiny_model()))
    config = LlamaConfig(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False, **shape)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(getattr(torch, dtype))
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


def trl_run(model_dir: str, rows: list[dict[str, Any]], method: str, steps: int, work: Path, cuda: bool,
            liger: bool = False) -> dict[str, Any]:
    """A hand-written SFTTrainer with TRL's SFTConfig defaults; the Meter's counts."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
    from trl import SFTConfig, SFTTrainer

    from local_support import Meter

    set_seed(42)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    kwargs: dict[str, Any] = {"dtype": torch.bfloat16 if cuda else torch.float32}
    if method == "qlora":
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16)
    model = AutoModelForCausalLM.from_pretrained(model_dir, device_map={"": 0} if cuda else None, **kwargs)
    if method == "qlora":
        model = prepare_model_for_kbit_training(model)
    if method != "full":
        model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", r=16, lora_alpha=32, lora_dropout=0.05,
                                                 target_modules="all-linear"))
    extra: dict[str, Any] = {} if cuda else {"use_cpu": True, "bf16": False}
    if liger:
        extra["use_liger_kernel"] = True
    args = SFTConfig(output_dir=str(work / f"trl-{method}"), max_steps=steps, report_to="none", save_strategy="no",
                     logging_steps=max(1, steps // 5), disable_tqdm=True, **extra)
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    meter = Meter()
    meter.attach(trainer)
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # TRL prints every log line
        trainer.train()
    out = meter.result()
    if cuda:
        out["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    out["settings"] = ("SFTConfig defaults: batch 8, bf16, activation checkpointing, random order; "
                       + ("bf16 weights" if method != "qlora" else "nf4 base, bf16 compute")
                       + (", use_liger_kernel" if liger else ""))
    del trainer, model
    return out


def ftx_run(model_dir: str, train: str, method: str, steps: int, work: Path, cuda: bool) -> dict[str, Any]:
    import torch

    from local_support import run_ftx

    recipe = {"name": f"gpu-{method}", "model": {"local": model_dir}, "data": {"train": train},
              "method": {"name": method}, "hyperparameters": {"max_steps": steps},
              "eval": {"strategy": "no", "baseline": False, "samples": []}}
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    run = run_ftx(recipe, work)
    summary = run.pop("summary")
    if cuda:
        run["peak_cuda_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    run["predicted_peak_memory_mb"] = summary.get("predicted_peak_memory_mb")
    run["settings"] = (f"recipe names model, data, method, max_steps: {summary['device']['precision']}, "
                       f"activation checkpointing {'on' if summary['device']['gradient_checkpointing'] else 'off'}, "
                       f"batch {summary['batch_per_process']}, {summary.get('batching', {}).get('mode', 'random')} batches")
    return run


def mfu(run: dict[str, Any], params: int, method: str, peak_tflops: float | None) -> float | None:
    if not peak_tflops:
        return None
    flops_per_token = (6 if method == "full" else 4) * params
    return round(run["tokens_per_s"] * flops_per_token / (peak_tflops * 1e12), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="optimizer steps per run")
    parser.add_argument("--examples", type=int, default=2048)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--smoke", action="store_true", help="run the wiring on the CPU with a small model")
    parser.add_argument("--out", default=str(HERE / "results" / "gpu.json"))
    args = parser.parse_args()
    cuda = cuda_available()
    if not cuda and not args.smoke:
        print(NO_CUDA)
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    from local_support import variable_rows, write_jsonl

    steps = 2 if args.smoke else args.steps
    methods = [m for m in args.methods.split(",") if m and (cuda or m != "qlora")]
    started = time.perf_counter()
    gpu = torch.cuda.get_device_name() if cuda else "cpu (smoke)"
    peak, peak_source = spec_peak_tflops(gpu) if cuda else (None, "cpu smoke run")
    liger = cuda and __import__("importlib").util.find_spec("liger_kernel") is not None
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ftx-bench-gpu-") as tmp:
        work = Path(tmp)
        os.environ["FTX_HOME"] = str(work / "home")
        model_dir = work / "llama"
        params = build_model(model_dir, SMOKE_SHAPE if args.smoke else SHAPE, "bfloat16" if cuda else "float32")
        rows = variable_rows(64 if args.smoke else args.examples)
        train = write_jsonl(work / "train.jsonl", rows)
        for method in methods:
            entry: dict[str, Any] = {"ftx": ftx_run(str(model_dir), train, method, steps, work, cuda)}
            entry["trl"] = trl_run(str(model_dir), rows, method, steps, work, cuda)
            if liger and method == "lora":
                entry["trl_liger"] = trl_run(str(model_dir), rows, method, steps, work, cuda, liger=True)
            for run in entry.values():
                run["mfu"] = mfu(run, params, method, peak)
            entry["ratio_tokens_per_s_ftx_vs_trl"] = round(entry["ftx"]["tokens_per_s"]
                                                           / max(entry["trl"]["tokens_per_s"], 1e-9), 2)
            results[method] = entry
            print(f"  {method:<6} ftx {entry['ftx']['tokens_per_s']:>10,.0f} tok/s  "
                  f"trl {entry['trl']['tokens_per_s']:>10,.0f} tok/s  "
                  f"(x{entry['ratio_tokens_per_s_ftx_vs_trl']})  peak ftx {entry['ftx'].get('peak_cuda_mb', '-')} MB "
                  f"trl {entry['trl'].get('peak_cuda_mb', '-')} MB", flush=True)
            if cuda:
                torch.cuda.empty_cache()
    import transformers
    import trl

    out = {"smoke": args.smoke, "gpu": gpu, "spec_peak_tflops": peak, "spec_peak_source": peak_source,
           "parameters": params, "shape": SMOKE_SHAPE if args.smoke else SHAPE, "steps": steps,
           "examples": len(rows), "liger_kernel": liger, "torch": torch.__version__,
           "transformers": transformers.__version__, "trl": trl.__version__,
           "seconds": round(time.perf_counter() - started, 1), "methods": results}
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    print(f"-> {path} ({out['seconds']:.0f} s)")


if __name__ == "__main__":
    main()
