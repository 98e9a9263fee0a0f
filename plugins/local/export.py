"""``ftx export RUN --merge``: fold a run's LoRA / DoRA / IA3 adapter into its base model.

The merge happens in float32 (exact for any saved dtype), then the merged model is saved with its
tokenizer (safetensors) into a temporary folder beside the destination, reloaded from disk and
checked against the adapter model on the run's validation prompts. Only a model that gives the
adapter's logits (within a tolerance set by the saved dtype) is renamed into place: a failed or
interrupted export leaves nothing behind.

QLoRA adapters were trained on a 4-bit base, so they are merged into that base de-quantized
(nf4 -> float32): the merged model reproduces the trained model, rounding of the base included.
Prefix and prompt tuning learn extra inputs, not weight changes: there is nothing to fold in.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ftx.errors import BackendError, FtxError

from .generate import EXPORT_INFO, Target, find_target
from .merge_check import CheckResult, check_inputs, compare, logits_of
from .models import method_load_kwargs, method_of
from .outputs import SUMMARY

MERGED_DIR = "merged"
DTYPES = ("auto", "float32", "bfloat16", "float16")
#: PEFT adapter types whose trained state is a change of weights (merge_and_unload).
MERGEABLE = {"LORA", "IA3"}
PROMPT_LEARNING = {"PREFIX_TUNING", "PROMPT_TUNING", "P_TUNING"}

Echo = Callable[[str], None]


@dataclass
class Source:
    """What an export starts from: the adapter, its base model, and the run they came from."""

    target: Target
    run_dir: Path | None
    run_id: str | None
    summary: dict[str, Any]
    adapter_config: dict[str, Any]

    @property
    def quantized(self) -> bool:
        return bool(getattr(method_of(self.target.method), "quantized", False))


def resolve_source(ref: str) -> Source:
    """The run (id, unique prefix or folder) or adapter folder ``ref`` names, checked mergeable."""
    target = find_target(ref, base=False)
    if target.artifact is None:
        raise BackendError(f"{ref} saved no model, so there is nothing to export")
    run_dir = target.artifact.parent if (target.artifact.parent / SUMMARY).is_file() else None
    summary = json.loads((run_dir / SUMMARY).read_text(encoding="utf-8")) if run_dir else {}
    method = target.method or "the adapter"
    if not target.adapter:
        trained = f"{ref} trained every weight (method {target.method}): " if target.method else ""
        raise BackendError(f"{trained}{target.artifact} is already a complete model, so there is no adapter to merge")
    config = json.loads((target.artifact / "adapter_config.json").read_text(encoding="utf-8"))
    kind = str(config.get("peft_type", "")).upper()
    known = method_of(target.method)
    if kind in PROMPT_LEARNING or (known is not None and known.adapter and not known.mergeable):
        raise BackendError(f"method {method} cannot be merged: it learns virtual tokens fed to the model with "
                           f"every input, not changes to its weights; use the adapter as it is "
                           f"(ftx generate {ref} loads it on its base model)")
    if kind not in MERGEABLE:
        raise BackendError(f"cannot merge a {kind or 'unknown'} adapter; ftx merges LoRA, DoRA, QLoRA and IA3")
    if not target.base_model:
        raise BackendError(f"cannot tell which base model {ref} started from")
    return Source(target, run_dir, summary.get("run_id"), summary, config)


def export_dtype(source: Source, requested: str) -> str:
    """``auto``: the precision the run held its base weights in (float32 on CPU, usually bfloat16
    for adapters trained on a GPU); else ``requested``."""
    if requested not in DTYPES:
        raise BackendError(f"unknown dtype {requested!r}; one of {', '.join(DTYPES)}")
    if requested != "auto":
        return requested
    trained = (source.summary.get("device") or {}).get("model_dtype")
    return trained if trained in DTYPES[1:] else "float32"


def _load_adapter_model(source: Source, device: str, dequantize: bool) -> Any:
    """Base model + adapter in float32; a QLoRA base is loaded 4-bit (as trained) and, with
    ``dequantize``, turned back into float32 weights before the adapter goes on."""
    from peft import PeftModel

    from .models import load_model, resolve_model

    extra = (method_load_kwargs(source.target.method, source.target.method_params, device)
             if source.quantized else None)
    base = load_model(resolve_model(source.target.base_model), "float32", device, extra)
    if extra and dequantize:
        base = base.dequantize()
        base.to(device)
    return PeftModel.from_pretrained(base, str(source.target.artifact))


def merge_adapter(model: Any) -> Any:
    """The adapter folded into the weights (PEFT ``merge_and_unload``, refusing NaNs)."""
    return model.merge_and_unload(safe_merge=True)


def _save(model: Any, tokenizer: Any, folder: Path, dtype: str) -> None:
    import torch

    model.to(getattr(torch, dtype))
    model.config.use_cache = True
    model.save_pretrained(folder)  # safetensors
    tokenizer.save_pretrained(folder)


def _default_out(source: Source) -> Path:
    if source.run_dir is not None:
        return source.run_dir / MERGED_DIR
    artifact = source.target.artifact
    assert artifact is not None
    return artifact.parent / f"{artifact.name}-{MERGED_DIR}"


def _place(staged: Path, out: Path) -> None:
    """Move the checked export into place; an existing export (``--force``) is replaced only now
    that the new one is ready, and comes back if the move fails."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
    try:
        os.replace(staged, out)
    except BaseException:
        if old is not None:
            os.replace(old / out.name, out)
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _record(source: Source, out: Path, check: CheckResult, dtype: str) -> str | None:
    """The merged folder as the run's ``merged`` artifact; None when the run is not in the registry."""
    if not source.run_id:
        return None
    from ftx.registry import Registry

    try:
        with Registry() as registry:
            run = registry.get_run(source.run_id)
            if run.id != source.run_id:
                return None
            registry.merge_json(run.id, "artifacts", {"merged": str(out)})
            registry.add_event(run.id, "info", f"exported the merged model ({dtype}) to {out}; "
                                               f"max |delta logits| {check.max_abs_delta:.3g} vs the adapter")
            return run.id
    except FtxError:
        return None


def _check_destination(source: Source, dest: Path, force: bool) -> None:
    """Refuse to overwrite without ``force``, and never replace the run or its adapter."""
    protected = [p.resolve() for p in (source.run_dir, source.target.artifact) if p is not None]
    if any(dest == p or p.is_relative_to(dest) for p in protected):
        raise BackendError(f"--out {dest} would replace the run's own files; choose another folder")
    if dest.exists() and not force:
        raise BackendError(f"{dest} already exists; pass --force to replace it, or --out for another folder")


def export_merged(ref: str, out: str | Path | None = None, *, dtype: str = "auto", force: bool = False,
                  tolerance: float | None = None, echo: Echo = lambda _: None) -> dict[str, Any]:
    """Merge the adapter of ``ref`` into its base model, save, verify and record it.

    Returns what happened (paths, dtype, the logits check). Raises :class:`BackendError` when
    the method cannot be merged, the destination exists (without ``force``) or the merged model
    does not reproduce the adapter's logits; nothing is left on disk in those cases."""
    from .quiet import no_deprecation_notices, quiet_libraries

    quiet_libraries()
    source = resolve_source(ref)
    saved_dtype = export_dtype(source, dtype)
    dest = Path(out).expanduser().resolve() if out else _default_out(source)
    _check_destination(source, dest, force)
    with no_deprecation_notices():
        return _export(source, dest, saved_dtype, tolerance, echo)


def _export(source: Source, dest: Path, dtype: str, tolerance: float | None, echo: Echo) -> dict[str, Any]:
    import gc

    from .device import detect_device
    from .models import load_model, load_tokenizer

    device = detect_device()
    target = source.target
    tokenizer = load_tokenizer(str(target.artifact))
    inputs = check_inputs(tokenizer, source.summary.get("samples") or [], target.chat)
    what = f"{target.method or 'adapter'} adapter"
    if source.quantized:
        what += " (4-bit base de-quantized to float32)"
    echo(f"merging the {what} into {target.base_model} ({device})")
    model = _load_adapter_model(source, device, dequantize=False)
    reference = logits_of(model, inputs)
    if source.quantized:  # the reference ran on the 4-bit base; the merge needs real weights
        del model
        gc.collect()
        model = _load_adapter_model(source, device, dequantize=True)
    merged = merge_adapter(model)
    del model
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-", dir=dest.parent))
    try:
        _save(merged, tokenizer, staged, dtype)
        del merged
        gc.collect()
        # The check runs on what was written: the saved files, reloaded, computing in float32.
        reloaded = load_model(str(staged), "float32", device)
        check = compare(reference, logits_of(reloaded, inputs), inputs, dtype, tolerance)
        del reloaded
        if not check.ok:
            raise BackendError(f"the merged model does not reproduce the adapter: max |delta logits| "
                               f"{check.max_abs_delta:.3g} > tolerance {check.tolerance:.3g} on {check.inputs} "
                               f"validation prompts; nothing was exported")
        info = {"run_id": source.run_id, "base_model": target.base_model, "method": target.method,
                "adapter": str(target.artifact), "dtype": dtype, "device": device,
                "prompt_format": "chat" if target.chat else "text",
                "dequantized_base": source.quantized, "check": check.to_dict()}
        (staged / EXPORT_INFO).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        _place(staged, dest)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    recorded = _record(source, dest, check, dtype)
    echo(f"logits check on {check.inputs} validation prompts ({check.tokens} tokens): max |delta logits| "
         f"{check.max_abs_delta:.3g} (tolerance {check.tolerance:.3g}, {dtype} weights)")
    echo(f"saved the merged model and tokenizer (safetensors, {dtype}) to {dest}")
    echo(f"recorded as artifact 'merged' of run {recorded}" if recorded
         else "note: the run is not in the registry; nothing recorded")
    return {**info, "path": str(dest), "recorded": bool(recorded)}
