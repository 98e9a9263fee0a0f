"""``ftx generate``: answer a prompt with a run's fine-tuned model, or with its base model.

``target`` is a run id (or unique prefix) from the registry, a run folder, an adapter or model
folder, or (with ``base=True``) a model name such as ``ftx/tiny-llama``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftx.errors import BackendError, FtxError
from ftx.home import ftx_home

from .models import method_load_kwargs
from .outputs import ADAPTER_DIR, MODEL_DIR, SUMMARY

EXPORT_INFO = "ftx_export.json"  # written by ``ftx export`` beside a merged model


@dataclass
class Target:
    base_model: str | None  # the model name the run started from (recipe's model)
    artifact: Path | None  # adapter or full-model folder
    adapter: bool
    method: str | None = None
    method_params: dict[str, Any] | None = None
    chat: bool = True


def _from_run_dir(run_dir: Path) -> Target:
    summary = json.loads((run_dir / SUMMARY).read_text(encoding="utf-8")) if (run_dir / SUMMARY).is_file() else {}
    resolved = run_dir / "recipe.resolved.yaml"
    recipe: dict[str, Any] = {}
    if resolved.is_file():
        import yaml

        recipe = yaml.safe_load(resolved.read_text(encoding="utf-8")) or {}
    method = dict(recipe.get("method") or {})
    name = method.pop("name", summary.get("method"))
    model = summary.get("model") or recipe.get("model")
    for sub, adapter in ((ADAPTER_DIR, True), (MODEL_DIR, False)):
        if (run_dir / sub).is_dir():
            return Target(model, run_dir / sub, adapter, name, method,
                          chat=summary.get("prompt_format", "chat") == "chat")
    if summary.get("status") not in (None, "succeeded"):
        raise BackendError(f"run in {run_dir} did not finish ({summary.get('status')}); it saved no model")
    return Target(model, None, False, name, method)


def _from_path(path: Path) -> Target:
    if (path / SUMMARY).is_file() or (path / "recipe.resolved.yaml").is_file():
        return _from_run_dir(path)
    if (path / "adapter_config.json").is_file():
        config = json.loads((path / "adapter_config.json").read_text(encoding="utf-8"))
        parent = path.parent
        if (parent / "recipe.resolved.yaml").is_file():  # an adapter inside a run folder
            return _from_run_dir(parent)
        return Target(config.get("base_model_name_or_path"), path, True)
    if (path / "config.json").is_file():
        return Target(str(path), path, False, chat=_exported_chat(path))
    raise BackendError(f"{path} is not a run folder, an adapter or a model folder")


def _exported_chat(path: Path) -> bool:
    """A merged export answers in the format its run trained on (chat turns or raw text)."""
    try:
        info = json.loads((path / EXPORT_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True
    return info.get("prompt_format", "chat") == "chat"


def _run_folder(key: str) -> Path | None:
    """The run folder for a run id or prefix: the registry's record, else the ftx home's runs/."""
    try:
        from ftx.registry import Registry

        with Registry() as registry:
            run = registry.get_run(key)
        if run.output_dir and Path(run.output_dir).is_dir():
            return Path(run.output_dir)
    except FtxError:
        pass
    runs = ftx_home() / "runs"
    matches = sorted(p for p in runs.glob(f"{key}*") if p.is_dir()) if runs.is_dir() else []
    if len(matches) > 1 and not (runs / key).is_dir():
        raise BackendError(f"run prefix {key!r} is ambiguous: {', '.join(p.name for p in matches[:5])}")
    return (runs / key) if (runs / key).is_dir() else (matches[0] if matches else None)


def find_target(ref: str, base: bool) -> Target:
    path = Path(ref).expanduser()
    if path.is_dir():
        return _from_path(path)
    folder = _run_folder(ref)
    if folder is not None:
        return _from_run_dir(folder)
    if base:
        return Target(ref, None, False)
    raise BackendError(f"no run, run folder or model folder named {ref!r}",
                       hint="give a run id (ftx runs list), a run folder, or --base with a model name")


def load_for_generation(target: Target, base: bool) -> tuple[Any, Any]:
    """(model, tokenizer) for ``target``: the base model (``base``) or the fine-tuned one."""
    from .device import detect_device
    from .models import load_model, load_tokenizer, resolve_model

    device = detect_device()
    if not base and target.artifact is not None and not target.adapter:
        return load_model(str(target.artifact), "float32", device), load_tokenizer(str(target.artifact))
    if not target.base_model:
        raise BackendError("cannot tell which base model this run started from")
    source = resolve_model(target.base_model)
    extra = method_load_kwargs(target.method, target.method_params, device)
    model = load_model(source, "float32", device, extra)
    if base or target.artifact is None:
        if not base:
            raise BackendError("this run saved no fine-tuned model; use --base for the base model")
        return model, load_tokenizer(source)
    from peft import PeftModel

    # An adapter saved without its tokenizer (a hosted provider's download) uses the base model's.
    has_tokenizer = any((target.artifact / name).is_file() for name in ("tokenizer_config.json", "tokenizer.json"))
    tokenizer = load_tokenizer(str(target.artifact) if has_tokenizer else source)
    return PeftModel.from_pretrained(model, str(target.artifact)), tokenizer


def generate_answer(ref: str, prompt: str, base: bool = False, max_new_tokens: int = 64) -> str:
    """The greedy answer to ``prompt`` from the run (or model) ``ref``."""
    return generate_answers(ref, [prompt], base=base, max_new_tokens=max_new_tokens)[0]


def generate_answers(ref: str, prompts: list[Any], base: bool = False, max_new_tokens: int = 64,
                     batch_size: int | None = None) -> list[str]:
    """Greedy answers to every prompt (text, or a list of chat turns) from ``ref``: the model
    is loaded once and the prompts are answered in left-padded batches (:mod:`.batch_generate`)."""
    from ftx.inference import GenerationParams

    from .batch_generate import DEFAULT_BATCH, LocalGenerator
    from .quiet import no_deprecation_notices, quiet_libraries

    quiet_libraries()
    target = find_target(ref, base)
    with no_deprecation_notices():
        model, tokenizer = load_for_generation(target, base)
        from ftx.inference import ModelRef

        gen = LocalGenerator(ModelRef("local", "base" if base else "tuned", ref), GenerationParams(max_new_tokens),
                             model, tokenizer, chat=target.chat, batch_size=batch_size or DEFAULT_BATCH)
        return gen.generate(prompts)
