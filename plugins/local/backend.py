"""Local backend capabilities and plan. Training itself imports torch lazily."""

from __future__ import annotations

import importlib.util
import math
from typing import Any

from ftx.backends import Backend, Finding
from ftx.components import objectives


class LocalBackend(Backend):
    name = "local"
    description = "this machine (CPU or CUDA) with torch, transformers, peft and trl"
    hosted = False
    objectives = None  # every objective whose plugin says how to train it here (LocalTraining)
    regularization = frozenset({"l2sp", "ewc"})
    ignored = {
        "hyperparameters.learning_rate_multiplier": "hosted backends only; set hyperparameters.learning_rate",
    }

    def random_weights(self, model: str | None) -> bool:
        from .tiny_model import NAME

        return model == NAME  # the embedded tiny model: seeded random weights

    def options_model(self) -> Any:
        from .options import LocalOptions

        return LocalOptions

    def check(self, recipe) -> list[Finding]:
        out = super().check(recipe)
        hp = recipe.recipe.hyperparameters
        for key in ("epochs", "batch_size"):
            if getattr(hp, key) == "auto":
                out.append(Finding("warning", "auto is for hosted backends; the local backend uses "
                                              f"{3 if key == 'epochs' else 4}", f"hyperparameters.{key}"))
        objective = objectives().get(recipe.recipe.objective)
        if objective is not None and not objective.packs and recipe.is_set("hyperparameters.packing"):
            out.append(Finding("warning", f"packing applies to sft only; {objective.name.upper()} examples "
                                          "are not packed", "hyperparameters.packing"))
        if recipe.recipe.output_dir:
            from .outputs import configured_output_dir
            from .ownership import refusal

            problem = refusal(configured_output_dir(recipe))
            if problem:
                out.append(Finding("error", problem, "output_dir"))
        missing = [m for m in ("torch", "transformers", "peft", "trl") if importlib.util.find_spec(m) is None]
        if missing:
            out.append(Finding("warning", f"not installed: {', '.join(missing)} "
                                          "(pip install 'ftx[local]' torch==2.13.0)"))
        from .batching import FIELD as BATCHING, findings as batching_findings

        out += [Finding(level, message, BATCHING) for level, message in batching_findings(recipe)]
        out += self._check_ray(recipe)
        return out

    @staticmethod
    def _check_ray(recipe) -> list[Finding]:
        from .ray_plan import FIELD, check_engine, ray_options

        if ray_options(recipe.options) is None:
            return []
        out = [Finding("error", message, FIELD) for message in check_engine(recipe.options, recipe.method)]
        if importlib.util.find_spec("ray") is None:
            out.append(Finding("error", "training on Ray needs the ray package (pip install 'ftx[ray]' "
                                        "torch==2.13.0)", FIELD))
        return out

    def plan(self, recipe, data: dict[str, Any]) -> dict[str, Any]:
        hp = recipe.recipe.hyperparameters
        epochs = hp.epochs if isinstance(hp.epochs, int) else 3
        batch = hp.batch_size if isinstance(hp.batch_size, int) else 4
        n_train = data.get("train_examples") or 0
        per_epoch = math.ceil(n_train / (batch * hp.gradient_accumulation)) if n_train else None
        steps = hp.max_steps or (per_epoch * epochs if per_epoch else None)
        details = {
            "model": recipe.model,
            "method": {"name": recipe.recipe.method.name, **recipe.method_params.model_dump()},
            "objective": recipe.recipe.objective,
            "precision": "float32 on CPU; bfloat16 on CUDA where supported",
            "optimizer steps": steps,
            "epochs": epochs,
            "effective batch": batch * hp.gradient_accumulation,
            "learning rate": f"{hp.learning_rate:g} ({hp.scheduler}, warmup {hp.warmup_ratio:.0%})",
            "max length": hp.max_length,
            **_batching(recipe, data),
        }
        from .ray_plan import plan as ray_plan, ray_options

        if ray_options(recipe.options) is not None:
            details.update(ray_plan(recipe, data))
        return details

    def distribution_plan(self, recipe, processes: Any, data: dict[str, Any]) -> dict[str, Any] | None:
        from .distributed import describe
        from .ray_plan import ray_options

        if ray_options(recipe.options) is not None:
            from ftx.errors import BackendError

            raise BackendError("--nproc and --nnodes launch torchrun; on Ray, ask for workers with --workers N")
        return describe(recipe, recipe.options, processes, data)

    def token_plan(self, recipe, train: list[Any], validation: list[Any], show: int = 0) -> dict[str, Any] | None:
        """Examples as the recipe's tokenizer and chat template render them (see :mod:`.token_plan`)."""
        from .token_plan import describe

        return describe(recipe, train, validation, show)

    def run(self, recipe, context: Any) -> Any:
        """Train on this machine; returns the run summary (see ``summary.json`` in the run folder)."""
        from .train import run_local

        return run_local(recipe, context)

    def outcome(self, summary: Any) -> Any:
        from ftx.outcome import generic_outcome

        return generic_outcome(summary, METRIC_KEYS)

    def model_ref(self, run: Any, tuned: bool) -> Any:
        """The run folder holds both: its adapter (or merged model) and the base model's name."""
        from ftx.errors import BackendError
        from ftx.inference import ModelRef

        model = (run.recipe_snapshot or {}).get("model") or run.model or ""
        base = model.get("local", "") if isinstance(model, dict) else model
        if not tuned:
            return ModelRef("local", "base", base, run_id=run.id, run_dir=run.output_dir)
        if run.status != "succeeded" or not run.output_dir:
            raise BackendError(f"run {run.id} has no tuned model to evaluate (status {run.status})")
        return ModelRef("local", "tuned", run.output_dir, run_id=run.id, run_dir=run.output_dir)

    def generator(self, model: Any, params: Any, recipe: Any = None, options: dict[str, Any] | None = None) -> Any:
        """Batched greedy generation with transformers (see :mod:`.batch_generate`)."""
        from .batch_generate import DEFAULT_BATCH, open_generator

        return open_generator(model, params, batch_size=(options or {}).get("batch_size") or DEFAULT_BATCH)


# The summary keys (see ``summary.json``) that the registry keeps as a local run's metrics.
METRIC_KEYS = ("final_train_loss", "final_eval_loss", "baseline_eval_loss", "best_eval_loss", "best_eval_step",
               "steps", "epochs", "train_time_s", "tokens_per_second", "peak_memory_mb",
               "predicted_peak_memory_mb", "peak_memory_error", "peak_working_mb", "predicted_working_mb",
               "working_memory_error", "health")


def _batching(recipe, data: dict[str, Any]) -> dict[str, Any]:
    """Which batching the run uses and the padding share it should see (from the token lengths
    the estimate counts too: the model's tokenizer when it is on this machine)."""
    from ftx.cost.dataset import splits
    from .estimator.tokens import local_counter, sequences
    from .estimator.model_shape import resolve_shape

    from .batching import describe

    try:
        train, _ = splits(recipe, data)
    except Exception:  # noqa: BLE001 - the data plan reports unreadable data; the plan still shows
        return {}
    shape = resolve_shape(recipe.model, recipe.base_dir) if recipe.model else None
    counter = local_counter(shape)
    lengths = [n for example in train for n in sequences(example, counter)]
    return describe(recipe, lengths, counter.name) if lengths else {}
