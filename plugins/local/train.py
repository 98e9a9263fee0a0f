"""One local training run, start to finish: data, model, method, trainer, outputs, summary.

The same code trains in one process and in each of several (launched by :mod:`.launch`):
every rank trains, rank 0 alone prints and writes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from . import outputs
from .callbacks import (
    MetricsLog,
    checkpoint_callback,
    metrics_callback,
    progress_callback,
)
from .context import RunContext, prepare_run
from .device import DevicePlan, current_plan
from .health import HealthConfig, HealthMonitor, health_callback
from .measure import PeakMemory, memory_errors, predicted_peak
from .quiet import no_deprecation_notices, quiet_libraries
from .resume import (
    baseline_of,
    checkpoint_state,
    checkpoints_dir,
    marker_path,
    replay_health,
)
from .samples import Sample, answer_all, pick_samples
from .trl_data import TrlData, build_datasets

Echo = Callable[[str], None]


def default_echo(message: str) -> None:
    """Print without breaking an active progress bar."""
    from tqdm.auto import tqdm

    tqdm.write(message)


def load_examples(recipe: Any) -> tuple[list, list]:
    """(train, validation) examples: the one place the data layer is called."""
    train, validation, _info = load_data(recipe)
    return train, validation


def load_data(recipe: Any) -> tuple[list, list, dict[str, Any]]:
    """(train, validation, info): ``info["mix"]`` holds the per-source counts of a mixed recipe."""
    from ftx.data.plan import load_splits

    return load_splits(recipe)


def _load(recipe: Any, device: DevicePlan) -> tuple[Any, Any, dict[str, Any]]:
    """Base model, tokenizer and the context handed to the method's ``apply``."""
    from .models import load_model, load_tokenizer, resolve_model

    source = resolve_model(recipe.model)
    tokenizer = load_tokenizer(source)
    context: dict[str, Any] = {
        "device": device.device, "tokenizer": tokenizer, "model_path": source,
        "gradient_checkpointing": device.gradient_checkpointing, "compute_dtype": device.model_dtype,
    }
    extra = recipe.method.load_kwargs(recipe.method_params, context)
    model = load_model(source, device.model_dtype, device.device, extra)
    return model, tokenizer, context


def _set_threads(device: DevicePlan, model: Any, options: Any) -> None:
    import torch

    from .device import cpu_threads

    if device.device == "cpu":
        n = cpu_threads(sum(p.numel() for p in model.parameters()), getattr(options, "cpu_threads", None))
        if n:
            torch.set_num_threads(n)


def _packing_notes(recipe: Any, model: Any) -> list[str]:
    from ftx.components import get_objective

    attention = str(getattr(model.config, "_attn_implementation", "") or "")
    packs = get_objective(recipe.recipe.objective).packs
    if packs and recipe.recipe.hyperparameters.packing and "flash" not in attention:
        return [f"packing with {attention or 'this'} attention: packed examples can attend to each other "
                "(a flash-attention kernel keeps them apart)"]
    return []


def _train_config(recipe: Any, device: DevicePlan, ctx: RunContext, data: TrlData, baseline: bool) -> Any:
    from .objectives import local_training

    args = (recipe, device, str(checkpoints_dir(ctx.run_dir)), len(data.train), data.eval is not None)
    run = {"checkpoints": True, "world_size": ctx.world_size, "eval_first": baseline}
    return local_training(recipe.recipe.objective).config(*args, loss=data.loss, **run)


def run_local(recipe: Any, plan: Any = None, echo: Echo = default_echo, progress: bool = True) -> dict[str, Any]:
    """Train ``recipe`` on this machine; returns the run summary (also written to summary.json).

    ``echo`` receives every line meant for the user; ``progress`` shows a progress bar. With
    several processes (``plan.options.processes``) the training is launched through torchrun
    (:mod:`.launch`), on Ray with ``backends.local.ray`` (:mod:`.ray_engine`); with ``plan.resume_from`` it continues that run from its last checkpoint."""
    from .ray_plan import ray_options

    if ray_options(recipe.options) is not None:
        from .ray_engine import run_ray

        return run_ray(recipe, plan, echo, progress)
    processes = getattr(getattr(plan, "options", None), "processes", None)
    if processes is not None and processes.world_size > 1:
        from .launch import run_distributed

        return run_distributed(recipe, plan, echo, progress)
    import torch

    threads = torch.get_num_threads()
    try:
        with no_deprecation_notices():
            return run_prepared(recipe, prepare_run(recipe, plan), echo, progress)
    finally:
        torch.set_num_threads(threads)  # a run may use fewer threads; the caller keeps its own


def _silent(message: str) -> None:
    """What the training processes other than rank 0 print: nothing."""


def run_prepared(recipe: Any, ctx: RunContext, echo: Echo = default_echo, progress: bool = True,
                 prepare: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Train in this process, as rank ``ctx.rank`` of ``ctx.world_size``: every rank trains, rank
    0 alone prints and writes the outputs. ``prepare`` adapts the trainer to an engine (Ray Train)."""
    from transformers import set_seed

    from .trainer import build_trainer, count_parameters

    quiet_libraries()
    from .batching import keep_on_resume

    keep_on_resume(recipe, ctx.batching, ctx.run_id)  # each process of a resumed run, as prepare_run did
    hp = recipe.recipe.hyperparameters
    device = current_plan(recipe.method, recipe.options)
    main = ctx.is_main
    say = echo if main else _silent
    run_dir = ctx.run_dir
    summary: dict[str, Any] = {"run_id": ctx.run_id, "run_dir": str(run_dir), "status": "running",
                               "recipe": recipe.recipe.name, "backend": "local", "model": recipe.model,
                               "method": recipe.recipe.method.name, "objective": recipe.recipe.objective,
                               "device": device.to_dict(), **ctx.summary_fields()}
    try:
        say(f"run {ctx.run_id}: {recipe.recipe.method.name} on {recipe.model} ({device.device}, {device.precision})"
            + (f"; {ctx.world_size} processes ({ctx.strategy})" if ctx.world_size > 1 else ""))
        if ctx.checkpoint is not None:
            say(f"resuming from {ctx.checkpoint.name} (step {ctx.resume_step})")
        train_ex, val_ex, data_info = load_data(recipe)
        if data_info.get("mix"):
            from ftx.data.mix import mix_lines, task_counts

            summary["data_mix"] = {**data_info["mix"], "trained": task_counts(train_ex)}
            for line in mix_lines(data_info["mix"]):
                say(f"  {line}")
        set_seed(hp.seed)
        model, tokenizer, context = _load(recipe, device)
        _set_threads(device, model, recipe.options)
        from .token_plan import drop_untrainable

        train_ex, val_ex, dropped = drop_untrainable(train_ex, val_ex, tokenizer, hp.max_length,
                                                     recipe.recipe.objective)
        if "data_mix" in summary:  # what really trains, per source, after examples with nothing to train
            from ftx.data.mix import task_counts

            summary["data_mix"]["trained"] = task_counts(train_ex)
        data = build_datasets(train_ex, val_ex, recipe.recipe.objective, tokenizer)
        data.notes += dropped + _packing_notes(recipe, model)
        for note in data.notes:
            say(f"note: {note}")
        samples = pick_samples(recipe.recipe.eval.samples, val_ex, train_ex, data.conversational) if main else []
        base_answers = answer_all(model, tokenizer, samples)
        from . import general_ppl

        probe = general_ppl.probe_texts(tokenizer) if general_ppl.wanted(recipe) else []
        ppl_before = general_ppl.perplexity(model, tokenizer, probe, hp.max_length) if probe else None
        set_seed(hp.seed)  # the method's initialisation (LoRA, prompts) is seeded too
        model = recipe.method.apply(model, recipe.method_params, context)
        trainable, total = count_parameters(model)
        say(f"trainable parameters: {trainable:,} of {total:,} ({trainable / max(total, 1):.2%}); "
            f"{len(train_ex)} train / {len(val_ex)} validation examples; loss on {data.loss} tokens")
        build = build_trainer if prepare is None else (lambda *a, **k: prepare(build_trainer(*a, **k)))
        result = _train(recipe, device, ctx, data, model, tokenizer, say, progress and main, build)
        trainer = result.pop("trainer")
        adapter = bool(getattr(recipe.method, "adapter", True))
        if ctx.world_size > 1:
            artifact = outputs.save_with_trainer(trainer, run_dir, adapter)
        else:
            artifact = outputs.save_artifact(trainer.model, tokenizer, run_dir, adapter=adapter)
        # A sharded model (FSDP, DeepSpeed) answers only with every rank taking part: its samples
        # after training are left to `ftx generate`.
        sharded = ctx.world_size > 1 and ctx.strategy in ("fsdp", "deepspeed")
        tuned_answers = answer_all(trainer.model, tokenizer, samples) if not sharded else [None] * len(samples)
        if probe and not sharded:
            after = general_ppl.perplexity(trainer.model, tokenizer, probe, hp.max_length)
            summary["general_perplexity"] = {"before": round(ppl_before, 4), "after": round(after, 4),
                                             "examples": len(probe), "set": "ftx:general-probe (held out)"}
            say(f"general-text perplexity (held-out ftx:general): {ppl_before:.2f} -> {after:.2f}")
        summary.update(result, status="succeeded", artifact=artifact, trainable_parameters=trainable,
                       total_parameters=total, train_examples=len(train_ex), validation_examples=len(val_ex),
                       loss_on=data.loss, notes=data.notes, prompt_format="chat" if data.conversational else "text",
                       samples=_sample_rows(samples, base_answers, tuned_answers))
        summary.update(_memory_check(recipe, device, train_ex, val_ex, summary))
        if main:
            outputs.write_summary(run_dir, summary)
            _print_end(summary, echo)
        return summary
    except BaseException as exc:
        summary.update(status="interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                       error=f"{type(exc).__name__}: {exc}")
        if main:
            outputs.write_summary(run_dir, summary)
        raise


def _train(recipe: Any, device: DevicePlan, ctx: RunContext, data: TrlData, model: Any, tokenizer: Any,
           echo: Echo, progress: bool, build_trainer: Callable[..., Any]) -> dict[str, Any]:
    """Baseline evaluation, training (or its continuation), final evaluation; the metrics and
    health of the run. Every rank runs this (evaluations and saves are collective); rank 0 writes."""
    ev = recipe.recipe.eval
    run_dir, main = ctx.run_dir, ctx.is_main
    # The baseline (the untrained model's validation loss) is the trainer's first evaluation,
    # logged at step 0; a resumed run logged it before it was interrupted.
    baseline_first = data.eval is not None and ev.baseline and ctx.checkpoint is None
    args = _train_config(recipe, device, ctx, data, baseline_first)
    early = bool(getattr(args, "load_best_model_at_end", False))
    monitor = HealthMonitor(HealthConfig(patience=ev.early_stopping_patience if early else None,
                                         checkpoints=early))
    previous = outputs.read_jsonl(ctx.metrics_path) if ctx.checkpoint is not None else None
    replay_health(monitor, previous or [])
    log = MetricsLog(ctx.metrics_path, previous=previous, write=main)
    memory = PeakMemory(device.device)
    evaluating = data.eval is not None and args.eval_strategy != "no"
    callbacks = [metrics_callback(log), health_callback(monitor, echo), memory.callback()]
    if main:
        callbacks += [checkpoint_callback(log, marker_path(run_dir)),
                      progress_callback(echo, every_evals=evaluating, show_bar=progress)]
    from .batching import located

    with located(recipe):  # a refused padding-free proof names the recipe's batching line
        trainer = build_trainer(recipe.recipe.objective, model, tokenizer, data, args, callbacks,
                                float32_trainables=device.device == "cpu")
    from .task_eval import add_task_eval, task_losses

    add_task_eval(trainer, data.eval, data.eval_tasks)
    from .regularize import attach

    penalty = attach(trainer, recipe, tokenizer, echo)
    resampled = _per_epoch_mix(recipe, trainer, tokenizer, echo)
    eval_before = log.total_eval_seconds
    start_step, start_tokens = _start_of(ctx)
    started = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=str(ctx.checkpoint) if ctx.checkpoint is not None else None)
    seconds = time.perf_counter() - started
    restored = _restored_step(trainer)
    final_eval = None
    if data.eval is not None and restored is not None:
        log.close()  # the restored model is not a new step: keep it out of metrics.jsonl
        final_eval = trainer.evaluate()["eval_loss"]
        echo(f"restored the best model (step {restored}): eval_loss {final_eval:.4f}")
    elif data.eval is not None and not log.has_eval_at(trainer.state.global_step):
        trainer.evaluate()  # the final model's validation loss, whatever the eval strategy
    log.close()
    if main and not getattr(recipe.options, "keep_checkpoints", False):
        outputs.remove_checkpoints(checkpoints_dir(run_dir))
    records = log.records
    baseline = baseline_of(records) if data.eval is not None and ev.baseline else None
    losses = [r["loss"] for r in records if isinstance(r.get("loss"), (int, float))]
    evals = [r["eval_loss"] for r in records if isinstance(r.get("eval_loss"), (int, float))]
    if final_eval is not None:
        evals.append(final_eval)
    compute = max(seconds - (log.total_eval_seconds - eval_before), 1e-9)
    steps = trainer.state.global_step - start_step  # trained by this process (a resume continues)
    tokens = int(trainer.state.num_input_tokens_seen or 0) - start_tokens
    title = f"{recipe.recipe.name} ({recipe.recipe.method.name})"
    plotted = outputs.plot_losses(records, run_dir / "loss.png", title) if main else False
    health = monitor.to_dict()
    batch, accumulation = args.per_device_train_batch_size, args.gradient_accumulation_steps
    return {
        "trainer": trainer,
        "steps": trainer.state.global_step,
        "epochs": round(trainer.state.epoch or 0, 4),
        "final_train_loss": losses[-1] if losses else None,
        "final_eval_loss": evals[-1] if evals else None,
        "baseline_eval_loss": baseline,
        "best_eval_loss": health["best_eval_loss"],
        "best_eval_step": health["best_eval_step"],
        "early_stopped": any(w["kind"] == "early-stopping" for w in health["warnings"]),
        "restored_best_step": restored,
        "train_time_s": round(seconds, 2),
        "steps_per_second": round(steps / compute, 2),
        "tokens_seen": int(trainer.state.num_input_tokens_seen or 0),
        # None where the objective's trainer does not count input tokens (TRL's ORPO)
        "tokens_per_second": round(tokens / compute, 1) if tokens else None,
        "batch_per_process": batch,
        "batching": {"mode": getattr(args, "ftx_batching", None) or "random",
                     **({"padding_free_proof": proof} if (proof := getattr(trainer, "ftx_padding_free_proof", None))
                        else {})},
        "effective_batch": batch * accumulation * ctx.world_size,
        **memory.result(),
        "warnings": [w["message"] for w in health["warnings"]],
        "health": health["warnings"],
        "files": {"metrics": str(ctx.metrics_path),
                  "loss_plot": str(run_dir / "loss.png") if plotted else None,
                  "recipe": str(run_dir / "recipe.resolved.yaml")},
        "mean_train_loss": output.training_loss,
        **({"resampled_epochs": resampled} if resampled else {}),
        **({"eval_loss_by_task": by_task} if (by_task := task_losses(records)) else {}),
        **({"regularization": {**recipe.recipe.method.regularization.model_dump(), "final_penalty": penalty.last,
                               "distance_from_start": round(penalty.distance(), 6)}} if penalty else {}),
    }


def _memory_check(recipe: Any, device: DevicePlan, train: list, validation: list,
                  summary: dict[str, Any]) -> dict[str, Any]:
    """The estimate's peak beside the measured one, and the estimate's error (measured /
    predicted - 1), so every run shows how far ``ftx estimate`` can be trusted."""
    predicted = predicted_peak(recipe, device.device, train, validation)
    return {**predicted, **memory_errors(summary, predicted)} if predicted else predicted


def _per_epoch_mix(recipe: Any, trainer: Any, tokenizer: Any, echo: Echo) -> int:
    """A mixed recipe samples its sampled sources afresh every epoch (same counts per source) and
    keeps a curriculum's order; returns the number of distinct epoch mixes (0: one for the run)."""
    from ftx.data.mix import epoch_mixes, resampled
    from ftx.data.plan import load_splits
    from ftx.data.sources import is_mixed

    spec = recipe.recipe.data
    if not is_mixed(spec):
        return 0
    from .epochs import attach_epochs
    from .trl_data import build_datasets

    hp = recipe.recipe.hyperparameters
    epochs = min(hp.epochs if isinstance(hp.epochs, int) else 3, 50)
    curriculum = spec.mix.curriculum is not None
    rows = []
    if epochs > 1 and resampled(load_splits(recipe)[2].get("mix")):
        rows = [build_datasets(ex, [], recipe.recipe.objective, tokenizer).train for ex in epoch_mixes(recipe, epochs)]
    sampler = attach_epochs(trainer, rows, hp.seed, shuffle=not curriculum)
    if sampler is None and curriculum:
        from torch.utils.data import SequentialSampler

        trainer._get_train_sampler = lambda train_dataset=None: SequentialSampler(train_dataset or trainer.train_dataset)
    if sampler is not None:
        echo(f"sampling the mix afresh each epoch: {len(sampler.starts)} epoch mixes of {sampler.size} rows")
        return len(sampler.starts)
    return 0


def _start_of(ctx: RunContext) -> tuple[int, int]:
    """(global step, tokens seen) where this process's training starts: 0 unless it resumes."""
    if ctx.checkpoint is None:
        return 0, 0
    state = checkpoint_state(ctx.checkpoint)
    return int(state.get("global_step") or 0), int(state.get("num_input_tokens_seen") or 0)


def _restored_step(trainer: Any) -> int | None:
    """The step whose checkpoint the trainer reloaded at the end (early stopping), if any."""
    best = getattr(trainer.state, "best_model_checkpoint", None)
    if not best or not getattr(trainer.args, "load_best_model_at_end", False):
        return None
    try:
        return int(Path(best).name.rsplit("-", 1)[-1])
    except ValueError:
        return None


def _sample_rows(samples: list[Sample], base: list[str], tuned: list[str]) -> list[dict[str, Any]]:
    return [{"prompt": s.label, "reference": s.reference, "base": b, "tuned": t}
            for s, b, t in zip(samples, base, tuned)]


def _fmt(value: Any, spec: str = ".4f") -> str:
    return format(value, spec) if isinstance(value, (int, float)) else "-"


def _print_end(summary: dict[str, Any], echo: Echo) -> None:
    if summary.get("samples"):
        echo("\nbefore -> after (greedy answers):")
        for row in summary["samples"]:
            echo(f"  {row['prompt']}")
            echo(f"    base:       {row['base']!r}")
            echo(f"    fine-tuned: {row['tuned']!r}")
            if row.get("reference"):
                echo(f"    expected:   {row['reference']!r}")
    best = (f" (best {_fmt(summary['best_eval_loss'])} at step {summary['best_eval_step']})"
            if summary.get("best_eval_loss") is not None else "")
    resumed = summary.get("resumed_from")
    trained = (f"{summary['steps']} steps ({summary['steps'] - resumed['step']} since the resume)" if resumed
               else f"{summary['steps']} steps")
    echo(f"\ntrain loss {_fmt(summary['final_train_loss'])}, eval loss {_fmt(summary['final_eval_loss'])}{best}; "
         f"{trained} in {summary['train_time_s']:.1f} s ({summary['steps_per_second']:.1f} steps/s, "
         + (f"{summary['tokens_per_second']:,.0f} tokens/s" if summary.get("tokens_per_second") is not None
            else "tokens not counted by this trainer")
         + f"); peak memory {summary['peak_memory_mb']:,.0f} MB"
         + (f" (estimated {summary['predicted_peak_memory_mb']:,.0f} MB)" if summary.get("predicted_peak_memory_mb")
            else "")
         + (f", {summary['peak_working_mb']:,.0f} MB without the libraries' code"
            + (f" (estimated {summary['predicted_working_mb']:,.0f} MB)" if summary.get("predicted_working_mb") else "")
            if summary.get("peak_working_mb") else ""))
    by_task = summary.get("eval_loss_by_task") or {}
    if by_task:
        echo("validation loss per task: " + ", ".join(
            f"{task} {_fmt(v['baseline'])} -> {_fmt(v['final'])}" for task, v in by_task.items()))
    for warning in summary.get("warnings") or ():
        echo(f"warning: {warning}")
    echo(f"saved {summary['artifact']['kind']} to {summary['artifact']['path']}; outputs in {summary['run_dir']}")
