"""What ``bench_local.py`` measures with: generated data, the larger model, the token meter,
run helpers for ftx and for the hand-written TRL script, and the process's peak memory."""

from __future__ import annotations

import contextlib
import io
import json
import math
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
QUICKSTART = HERE.parent / "recipes" / "data" / "quickstart.jsonl"
LARGER = dict(hidden_size=512, intermediate_size=1376, num_hidden_layers=7, num_attention_heads=8,
              num_key_value_heads=8)  # ~23M parameters: a few seconds per step on one CPU core
LARGER_QUICK = dict(hidden_size=128, intermediate_size=344, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=4)


# -- data and models -------------------------------------------------------------------------------
def quickstart_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in QUICKSTART.read_text(encoding="utf-8").splitlines() if line.strip()]


def variable_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Chat examples whose answers run from 3 to 300 words (log-uniform): batches pad a lot."""
    words = sorted({w for r in quickstart_rows() for m in r["messages"] for w in m["content"].split()})
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        question = " ".join(rng.choices(words, k=rng.randint(4, 24))) + "?"
        answer = " ".join(rng.choices(words, k=int(math.exp(rng.uniform(math.log(3), math.log(300))))))
        rows.append({"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]})
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def build_larger_model(out: Path, quick: bool) -> dict[str, Any]:
    """A seeded random-weight Llama with the tiny model's tokenizer (no download)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from ftx.plugins.local.tiny_model import ensure_tiny_model

    tokenizer = AutoTokenizer.from_pretrained(str(ensure_tiny_model()))
    config = LlamaConfig(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         max_position_embeddings=1024, tie_word_embeddings=False,
                         **(LARGER_QUICK if quick else LARGER))
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {"path": str(out), "parameters": sum(p.numel() for p in model.parameters()),
            **{k: getattr(config, k) for k in ("hidden_size", "num_hidden_layers", "intermediate_size")}}


# -- measuring -------------------------------------------------------------------------------------
class Meter:
    """Counts the tokens each training step consumes and times ``trainer.train()``, less the
    evaluations that run inside it (they consume no training tokens)."""

    def __init__(self) -> None:
        self.real = self.padded = self.steps = 0
        self.seconds = self.eval_seconds = self.checkpoint_seconds = 0.0
        self.checkpoints = 0
        self._training = False

    def attach(self, trainer: Any) -> None:
        step, train, evaluate = trainer.training_step, trainer.train, trainer.evaluate

        def counting(model, inputs, *args, **kwargs):
            ids, mask = inputs["input_ids"], inputs.get("attention_mask")
            self.real += int(mask.sum()) if mask is not None else ids.numel()
            self.padded += ids.numel()
            self.steps += 1
            return step(model, inputs, *args, **kwargs)

        def timed(*args, **kwargs):
            started, self._training = time.perf_counter(), True
            try:
                return train(*args, **kwargs)
            finally:
                self._training = False
                self.seconds += time.perf_counter() - started

        def timed_eval(*args, **kwargs):
            started = time.perf_counter()
            try:
                return evaluate(*args, **kwargs)
            finally:
                if self._training:
                    self.eval_seconds += time.perf_counter() - started

        save = trainer._save_checkpoint  # (transformers' private hook: timing only, behaviour unchanged)

        def timed_save(*args, **kwargs):
            started = time.perf_counter()
            try:
                return save(*args, **kwargs)
            finally:
                self.checkpoints += 1
                self.checkpoint_seconds += time.perf_counter() - started

        trainer.training_step, trainer.train, trainer.evaluate = counting, timed, timed_eval
        trainer._save_checkpoint = timed_save

    def result(self) -> dict[str, Any]:
        seconds = max(self.seconds - self.eval_seconds, 1e-9)
        return {"steps": self.steps, "real_tokens": self.real, "padded_tokens": self.padded,
                "padding_fraction": round(1 - self.real / max(self.padded, 1), 3),
                "train_s": round(seconds, 3), "eval_s_excluded": round(self.eval_seconds, 3),
                "checkpoints": self.checkpoints, "checkpoint_s": round(self.checkpoint_seconds, 3),
                "tokens_per_s": round(self.real / seconds, 1)}


@contextlib.contextmanager
def metered_ftx(meter: Meter):
    """Instrument the trainer ftx builds (the training run itself is untouched)."""
    from ftx.plugins.local import trainer as module

    real = module.build_trainer

    def build(*args, **kwargs):
        trainer = real(*args, **kwargs)
        meter.attach(trainer)
        return trainer

    module.build_trainer = build
    try:
        yield
    finally:
        module.build_trainer = real


def run_ftx(recipe: dict[str, Any], work: Path) -> dict[str, Any]:
    """One ftx run of ``recipe`` (a dict); its summary plus the meter's counts and wall time."""
    from ftx.plugins.local.train import run_local
    from ftx.recipe import load_recipe

    path = work / f"{recipe['name']}.yaml"
    path.write_text(json.dumps(recipe), encoding="utf-8")
    resolved = load_recipe(str(path), [], backend="local")
    meter = Meter()
    started = time.perf_counter()
    with metered_ftx(meter):
        summary = run_local(resolved, None, echo=lambda _: None, progress=False)
    return {**meter.result(), "end_to_end_s": round(time.perf_counter() - started, 3), "summary": summary}


def run_trl(model_dir: str, rows: list[dict[str, Any]], hp: dict[str, Any], flavour: str, work: Path,
            threads: int | None) -> dict[str, Any]:
    """One run of the hand-written TRL script (its printed logs silenced)."""
    import torch

    import trl_baseline

    meter = Meter()
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            out = trl_baseline.train(model_dir, rows, hp, flavour, tempfile.mkdtemp(dir=work), meter.attach)
    finally:
        torch.set_num_threads(before)
    return {**meter.result(), "end_to_end_s": round(out["total_s"], 3), "losses": out["losses"],
            "threads": threads or before}


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keep = ("steps", "real_tokens", "padding_fraction", "threads", "checkpoints")
    return {**{k: runs[0][k] for k in keep if k in runs[0]}, "tokens_per_s": _median(runs, "tokens_per_s"),
            "train_s": _median(runs, "train_s"), "checkpoint_s": _median(runs, "checkpoint_s"),
            "end_to_end_s": _median(runs, "end_to_end_s"),
            "tokens_per_s_runs": [r["tokens_per_s"] for r in runs]}


def count_params(model_dir: str) -> int:
    from safetensors import safe_open

    with safe_open(str(Path(model_dir) / "model.safetensors"), "pt") as f:
        return sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())


def token_lengths(rows: list[dict[str, Any]]) -> dict[str, int]:
    from transformers import AutoTokenizer

    from ftx.plugins.local.tiny_model import ensure_tiny_model

    tok = AutoTokenizer.from_pretrained(str(ensure_tiny_model()))
    lengths = sorted(len(tok.apply_chat_template(r["messages"], tokenize=True, return_dict=True)["input_ids"])
                     for r in rows)
    return {"examples": len(rows), "min": lengths[0], "median": lengths[len(lengths) // 2], "max": lengths[-1]}


def release_free_memory() -> None:
    """Collect garbage and hand the allocator's free pages back to the OS (glibc ``malloc_trim``):
    memory a previous run freed but the heap kept would otherwise be reused unseen by the next
    run, which would then look smaller than it is."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: the numbers are upper-bounded by reuse, no worse
        pass


def reset_high_water() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0), so that one
    process can measure the peak of each run in turn."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="utf-8") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def high_water_mb() -> float | None:
    """This process's peak RSS since the last reset (VmHWM): it sees peaks between ftx's
    per-step samples."""
    try:
        with open("/proc/self/status", encoding="utf-8") as fh:
            line = next((x for x in fh if x.startswith("VmHWM:")), None)
    except OSError:
        return None
    return int(line.split()[1]) / 1024 if line else None
