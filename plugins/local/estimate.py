"""Cost, time and peak memory of a local run on one device (CPU or a GPU from the catalog).

The arithmetic lives in :mod:`.estimator` (``memory``, ``timing``, ``tokens``, ``model_shape``);
this module gathers the recipe's numbers and states every assumption it made. Imports no torch.
"""

from __future__ import annotations

import os
from typing import Any

from ftx.cost.catalog import Device, find_device, load_devices, price_for
from ftx.components import get_objective
from ftx.cost.dataset import splits
from ftx.estimate import Estimate, PriceTable

from .estimator.memory import GB, local_plan, peak_memory, weight_bytes
from .estimator.model_shape import resolve_shape
from .estimator.timing import eval_passes, optimizer_steps, train_time
from .estimator.tokens import count_local, local_counter

DEFAULT_EPOCHS = 3  # what the local backend uses for epochs: auto
DEFAULT_BATCH = 4


def price_tables() -> list[PriceTable]:
    """The device catalog as a price table (its own overrides already merged in)."""
    devices = load_devices()
    entries = {key: {"usd_per_hour": d.usd_per_hour, "source": d.source, "date": d.date,
                     "aliases": [d.name.lower(), *d.aliases]} for key, d in devices.items()}
    latest = max((d.date for d in devices.values()), default="unknown")
    return [PriceTable(name="ftx device catalog (gpus.yaml)", backend="local", date=latest,
                       source="per device, see ftx/cost/gpus.yaml", entries=entries)]


def _device(data: dict[str, Any]) -> Device:
    return find_device(str(data.get("gpu") or os.environ.get("FTX_GPU") or "cpu"))


def _usd_per_hour(device: Device) -> tuple[float, str, str]:
    found = price_for("local", device.key)
    if found is None:
        return device.usd_per_hour, device.source, device.date
    entry, table = found
    return (float(entry.get("usd_per_hour", device.usd_per_hour)),
            str(entry.get("source") or table.source), str(entry.get("date") or table.date))


def estimate(backend: Any, recipe: Any, data: dict[str, Any]) -> Estimate:
    """Estimate ``recipe`` on this backend for the device ``data["gpu"]`` (default: cpu)."""
    device = _device(data)
    est = Estimate(backend=backend.name, model=recipe.model, device=device.name,
                   memory_gb=round(device.memory_gb, 1))
    if not recipe.model:
        est.available = False
        est.notes.append(f"no model for this backend (add model.{backend.name})")
        return est
    shape, train, validation, counts = _measured(recipe, data)
    if shape is None:
        est.available = False
        est.notes.append(f"size of {recipe.model!r} unknown: not on this machine, not in ftx's table, "
                         "no size in its name (e.g. 8B)")
        return est
    hp = recipe.recipe.hyperparameters
    epochs = hp.epochs if isinstance(hp.epochs, int) else DEFAULT_EPOCHS
    batch = hp.batch_size if isinstance(hp.batch_size, int) else DEFAULT_BATCH
    tr, va = counts
    steps = optimizer_steps(len(train), epochs, batch, hp.gradient_accumulation, hp.max_steps)
    all_steps = optimizer_steps(len(train), epochs, batch, hp.gradient_accumulation, None)
    done = steps / all_steps if all_steps else 1.0  # max_steps may stop early
    method, params = recipe.method, recipe.method_params
    full, quantized = not method.adapter, bool(method.quantized)
    plan = local_plan(device, method, getattr(recipe.options, "gradient_checkpointing", None))
    seq_len = max(tr.longest, 1)
    objective = get_objective(recipe.recipe.objective)
    rows = batch * objective.sequences_per_example  # DPO runs chosen and rejected side by side
    mem = peak_memory(shape, device, method, params, rows, seq_len, plan.checkpointing)
    train_tokens = tr.tokens * epochs * done
    time = train_time(shape, device, full=full, quantized=quantized, trained=mem.trainable_params,
                      train_tokens=train_tokens, avg_seq=tr.average, val_tokens=va.tokens,
                      evals=eval_passes(recipe, epochs, steps) if validation else 0, steps=steps,
                      weights_gb=weight_bytes(shape, plan, quantized) / GB, checkpointing=plan.checkpointing,
                      reference=objective.reference_model,
                      eval_batches=-(-len(validation) // batch))
    usd, source, date = _usd_per_hour(device)
    est.billable_tokens = int(round(train_tokens))
    est.epochs = epochs * done
    est.seconds = round(time.seconds, 1)
    est.cost_usd = round(time.hours * usd, 4)
    est.peak_memory_gb = round(mem.total / GB, 2)
    est.fits = mem.total <= device.memory_gb * GB
    est.breakdown = mem.breakdown()
    est.time_breakdown = {k: round(v, 2) for k, v in time.parts.items()}
    est.assumptions = {
        "model size": f"{_count(shape.params)} parameters ({shape.source})",
        "trained parameters": f"{mem.trainable_params:,} ({method.name})",
        "tokens counted with": tr.counted_with,
        "sequence length": f"{seq_len} (longest after truncation at {hp.max_length}), batch {batch}",
        "precision": plan.precision + (", base weights 4-bit nf4" if quantized else "")
                     + (", activation checkpointing" if plan.checkpointing else ""),
        "$/GPU-hour": f"{usd:g}",
        "price source": f"{source}, {date}",
        "peak TFLOP/s": f"{device.peak_tflops:g}",
        "MFU": f"{time.mfu:.2f}",
        "step overhead": _step_overhead(device),
        "training throughput": f"{train_tokens / max(time.train_seconds, 1e-9):,.0f} tokens/s",
        "optimizer steps": steps,
    }
    _notes(est, recipe, device, shape, mem, tr, hp, rows, seq_len, plan.checkpointing)
    return est


def _step_overhead(device: Device) -> str:
    """The fixed cost of an optimizer step; on a CPU, the calibration machine's scaled by this
    CPU's measured speed (ftx.cost.cpu_speed)."""
    cal = device.calibration_step_overhead_s
    if cal is None or cal <= 0:
        return f"{device.step_overhead_s:g} s"
    return f"{device.step_overhead_s:.4f} s ({cal:g} s on the calibration CPU x {device.step_overhead_s / cal:.2f}, this CPU's speed probe)"


def _measured(recipe: Any, data: dict[str, Any]) -> tuple[Any, list, list, tuple[Any, Any]]:
    """(shape, train, validation, (train tokens, validation tokens)): the same for every device,
    so worked out once per backend of an ``ftx estimate`` (which passes one ``data["shared"]``
    dict to all of that backend's rows), else each time."""
    shared = data.get("shared")
    if isinstance(shared, dict) and "local_measured" in shared:
        return shared["local_measured"]
    shape = resolve_shape(recipe.model, recipe.base_dir)
    if shape is None:
        return None, [], [], (None, None)
    train, validation = splits(recipe, data)
    counter = local_counter(shape)
    max_length = recipe.recipe.hyperparameters.max_length
    value = (shape, train, validation, (count_local(train, counter, max_length),
                                        count_local(validation, counter, max_length)))
    if isinstance(shared, dict):
        shared["local_measured"] = value
    return value


def _count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return str(n)


def _notes(est: Estimate, recipe: Any, device: Device, shape: Any, mem: Any, tr: Any, hp: Any,
           batch: int, seq_len: int, checkpointing: bool) -> None:
    if not isinstance(hp.epochs, int):
        est.notes.append(f"epochs: auto is for hosted backends; local runs {DEFAULT_EPOCHS}")
    if tr.truncated:
        est.notes.append(f"{tr.truncated} sequences longer than max_length {hp.max_length} are truncated")
    if device.precision == "fp16":
        est.notes.append(f"{device.name} has no bfloat16: trains in float16 mixed precision on float32 weights")
    if est.fits is False and not checkpointing:
        with_gc = peak_memory(shape, device, recipe.method, recipe.method_params, batch, seq_len, True)
        if with_gc.total <= device.memory_gb * GB:
            est.notes.append(f"fits with gradient checkpointing ({with_gc.total / GB:.1f} GB)")
    if est.fits is False:
        est.notes.append(f"needs ~{mem.total / GB:.1f} GB, {device.name} has {device.memory_gb:.0f} GB")
