"""One evaluation: every system answers the test set, each metric gets an interval, the tuned
model is tested against the best baseline, and the verdict says whether fine-tuning paid off."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import BackendError
from ..inference import GenerationParams
from . import stats as st
from .baselines import System, build_prompts, systems
from .metrics import Metric, build_metrics
from .testset import Item, load_test

PPL_WARN = 1.25  # tuned perplexity on general text above base x this: a forgetting warning


@dataclass
class EvalOptions:
    yes: bool = False
    max_cost: float | None = None
    concurrency: int = 4
    batch_size: int | None = None
    out_dir: Path | None = None
    interactive: bool | None = None
    echo: Callable[[str], None] = field(default=lambda s: None)


def params_of(spec: Any) -> GenerationParams:
    g = spec.generation
    return GenerationParams(max_new_tokens=g.max_new_tokens, temperature=g.temperature, stop=tuple(g.stop),
                            seed=g.seed)


def check_spec(recipe: Any) -> list[Metric]:
    """Validate ``eval`` before anything runs (metric names and settings, the harness task files),
    every problem at once; the metric objects."""
    return _checked_spec(recipe)[0]


def _checked_spec(recipe: Any) -> tuple[list[Metric], Any]:
    """:func:`check_spec`'s work: the metric objects and the harness plan (task files read once)."""
    from ..errors import RecipeError
    from .harness_tasks import harness_plan

    spec = recipe.recipe.eval
    problems = []
    metrics: list[Metric] = []
    plan = None
    try:
        metrics = build_metrics(spec.metrics, str(recipe.base_dir), recipe.located.where)
    except RecipeError as exc:
        problems.extend(exc.problems)
    try:
        plan = harness_plan(recipe)
    except RecipeError as exc:
        problems.extend(exc.problems)
    if problems:
        raise RecipeError(problems=problems)
    return metrics, plan


def _probe_items(spec: Any, recipe: Any) -> list[Item]:
    from .probe import builtin_probe
    from .testset import read_examples, to_item

    probe = spec.forgetting.probe
    if probe == "none":
        return []
    examples = builtin_probe(spec.forgetting.size) if probe == "builtin" else \
        read_examples(recipe.data_path(probe), "auto", "forgetting probe", "eval.forgetting.probe")
    items = [to_item(e) for e in examples]
    for i, item in enumerate(items):
        item.where = item.where if item.example and item.example.source else f"probe #{i + 1}"
    return items


def _score(metrics: list[Metric], answers: list[str], items: list[Item]) -> dict[str, list[Any]]:
    return {m.label: [m.example_stats(a, it.reference) for a, it in zip(answers, items)]
            for m in metrics if not m.needs_model}


def _summary(metric: Metric, stats_list: list[Any], spec: Any) -> dict[str, Any]:
    value = metric.aggregate(stats_list)
    low, high = st.bootstrap_ci(stats_list, metric.aggregate, spec.confidence, spec.bootstrap)
    return {"value": round(value, 4), "ci": [round(low, 4), round(high, 4)], "n": len(stats_list)}


def _compare(metric: Metric, tuned: list[Any], base: list[Any], baseline: str, spec: Any) -> dict[str, Any]:
    paired = st.paired_bootstrap(tuned, base, metric.aggregate, spec.confidence, spec.bootstrap,
                                 higher_is_better=metric.higher_is_better)
    out = {"baseline": baseline, "metric": metric.label, **paired.to_dict()}
    if metric.binary:
        only_tuned, only_base, p = st.mcnemar([s >= 50 for s in tuned], [s >= 50 for s in base])
        out.update(test="McNemar", p_value=float(f"{p:.3g}"), only_tuned_right=only_tuned, only_baseline_right=only_base)
    alpha = 1 - spec.confidence
    out["significant"] = bool(out["p_value"] < alpha and (out["ci"][0] > 0 or out["ci"][1] < 0))
    return out


def verdict(comparison: dict[str, Any] | None, best: str | None, primary: str, tuned: bool) -> str:
    if not tuned:
        return f"baseline only: the best baseline is {best} on {primary}; fine-tune and run ftx eval RUN to compare"
    if comparison is None:
        return "no baseline to compare with: add eval.baselines"
    b = comparison["baseline"].replace("_", "-")
    d, (lo, hi) = comparison["delta"], comparison["ci"]
    if comparison["significant"] and d > 0:
        return f"beats {b} by {d:+.1f} points [{lo:+.1f}, {hi:+.1f}] on {primary}: worth it"
    if comparison["significant"] and d < 0:
        return f"worse than {b} by {-d:.1f} points [{lo:+.1f}, {hi:+.1f}] on {primary}: fine-tuning was not worth it here"
    return (f"not significantly better than {b} ({d:+.1f} points [{lo:+.1f}, {hi:+.1f}] on {primary}): "
            "fine-tuning was not worth it here")


def evaluate(recipe: Any, backend: Any, run: Any = None, options: EvalOptions | None = None,
             tuned_ref: Any = None, base_ref: Any = None) -> dict[str, Any]:
    """Evaluate; ``run`` (a registry run) supplies the tuned model, ``None`` = baselines only.
    Returns the report (also written to ``options.out_dir``, and recorded on ``run``)."""
    from ..inference import ModelRef
    from .spend import confirm_inference

    options = options or EvalOptions()
    spec = recipe.recipe.eval
    metrics, planned = _checked_spec(recipe)
    items, pool, warnings = load_test(recipe)
    for w in warnings:
        options.echo(f"warning: {w}")
    params = params_of(spec)
    if base_ref is None:
        base_ref = backend.model_ref(run, tuned=False) if run is not None else ModelRef(backend.name, "base",
                                                                                       recipe.model or "")
    if tuned_ref is None and run is not None:
        tuned_ref = backend.model_ref(run, tuned=True)
    chosen = systems(spec, tuned_ref is not None)
    prompts = {s.name: build_prompts(s, items, pool, spec) for s in chosen}
    probe = _probe_items(spec, recipe) if tuned_ref is not None else []
    harness = None
    skipped = harness_skipped(backend) if spec.forgetting.harness else None
    if skipped is not None:
        warnings = [*warnings, skipped]
        options.echo(f"warning: {skipped}")
    elif spec.forgetting.harness:  # on the base model alone too (--baseline-only): the starting point
        check_harness(backend, recipe)
        harness = planned
    gen_options = {"concurrency": options.concurrency, "batch_size": options.batch_size}
    refs = {"base": base_ref, **({"tuned": tuned_ref} if tuned_ref is not None else {})}
    generators = {}
    try:
        for key, ref in refs.items():
            generators[key] = backend.generator(ref, params, recipe, gen_options)
            if harness and not callable(getattr(generators[key], "harness", None)):
                file, line = recipe.located.where(("eval", "forgetting", "harness"))
                raise BackendError(f"backend {backend.name!r} cannot run lm-evaluation-harness tasks (its generator "
                                   "has no harness()): eval.forgetting.harness is for local models",
                                   file=file, line=line, field="eval.forgetting.harness")
        costs = []
        for key, gen in generators.items():
            asked = [p for s in chosen if (s.tuned == (key == "tuned")) for p in prompts[s.name]]
            asked += [it.prompt for it in probe]
            costs.append((gen.model.label, gen.estimate_cost(asked)))
        spent_estimate = confirm_inference(costs, yes=options.yes, max_cost=options.max_cost,
                                           interactive=options.interactive)
        answers: dict[str, list[str]] = {}
        timings: dict[str, float] = {}
        for s in chosen:
            options.echo(f"answering {len(items)} test items: {s.name} ({refs['tuned' if s.tuned else 'base'].name})")
            t0 = time.perf_counter()
            answers[s.name] = generators["tuned" if s.tuned else "base"].generate(prompts[s.name])
            timings[s.name] = round(time.perf_counter() - t0, 3)
        model_scores = _model_metrics(metrics, generators, chosen, items, recipe)
        forgetting = _forgetting(spec, generators, probe, backend, harness, options.echo) \
            if tuned_ref is not None else _base_harness(generators["base"], harness, options.echo)
    finally:
        for gen in generators.values():
            gen.close()
    report = _assemble(recipe, backend, spec, metrics, items, chosen, refs, answers, model_scores, forgetting,
                       warnings, timings, spent_estimate)
    rows = [{"item": it.where, "question": it.text, "reference": it.reference,
             **{s.name: {"answer": answers[s.name][i],
                         "scores": {m.label: m.score(answers[s.name][i], it.reference)
                                    for m in metrics if not m.needs_model}} for s in chosen}}
            for i, it in enumerate(items)]
    out_dir = options.out_dir or _default_out(run, recipe)
    from .report import write

    files = write(report, rows, out_dir)
    report["files"] = files
    if run is not None:
        record(run.id, report)
    return report


def harness_skipped(backend: Any) -> str | None:
    """Why ``eval.forgetting.harness`` is skipped on ``backend`` (``None``: it runs). The harness
    scores a local model's loglikelihoods, which a hosted service does not give; the recipe stays
    the same for every backend, so its harness tasks are skipped there with a warning, not refused."""
    if backend.hosted:
        return (f"eval.forgetting.harness skipped: lm-evaluation-harness scores local models only, and backend "
                f"{backend.name!r} is hosted (its model is compared on the test set and the forgetting probe)")
    return None


def check_harness(backend: Any, recipe: Any) -> None:
    """``eval.forgetting.harness`` can run here: lm-eval installed (found, not imported: only the
    run imports it). A hosted backend skips the tasks (:func:`harness_skipped`)."""
    import importlib.util

    if not recipe.recipe.eval.forgetting.harness or harness_skipped(backend) is not None:
        return
    file, line = recipe.located.where(("eval", "forgetting", "harness"))
    if importlib.util.find_spec("lm_eval") is None:
        raise BackendError("eval.forgetting.harness needs lm-evaluation-harness, which is not installed",
                           file=file, line=line, field="eval.forgetting.harness",
                           hint="pip install 'ftx[harness]' torch==2.13.0 (a named task also needs its dataset in "
                                "the Hugging Face cache offline; a local task YAML does not); "
                                "or remove eval.forgetting.harness")


def _model_metrics(metrics: list[Metric], generators: dict[str, Any], chosen: list[System], items: list[Item],
                   recipe: Any) -> dict[str, dict[str, Any]]:
    """Model-scored metrics (perplexity of the reference answers), per system's model."""
    out: dict[str, dict[str, Any]] = {}
    texts = [(it.text + "\n" + (it.reference or "")) for it in items if it.reference]
    for m in metrics:
        if not m.needs_model:
            continue
        cache: dict[str, float] = {}
        for s in chosen:
            key = "tuned" if s.tuned else "base"
            if key not in cache:
                cache[key] = generators[key].perplexity(texts)
            out.setdefault(s.name, {})[m.label] = {"value": round(cache[key], 4), "ci": None, "n": len(texts)}
    return out


def _forgetting(spec: Any, generators: dict[str, Any], probe: list[Item], backend: Any, harness: Any = None,
                echo: Callable[[str], None] = lambda s: None) -> dict[str, Any]:
    from .metrics import metrics as registered

    out: dict[str, Any] = {"warnings": []}
    f = spec.forgetting
    if probe:
        em = registered()["exact_match"]
        scores = {}
        per = {}
        for key in ("base", "tuned"):
            answers = generators[key].generate([it.prompt for it in probe])
            per[key] = [em.score(a, it.reference) for a, it in zip(answers, probe)]
            scores[key] = em.aggregate(per[key])
        paired = st.paired_bootstrap(per["tuned"], per["base"], em.aggregate, spec.confidence, spec.bootstrap)
        out["probe"] = {"source": f.probe, "n": len(probe), "base": round(scores["base"], 2),
                        "tuned": round(scores["tuned"], 2), "delta": round(paired.delta, 2),
                        "ci": [round(paired.low, 2), round(paired.high, 2)]}
        if -paired.delta > f.threshold:
            out["warnings"].append(f"the tuned model lost {-paired.delta:.1f} points on the general probe "
                                   f"(threshold {f.threshold:g}): it may have forgotten general skills; "
                                   "mix general data into training (replay) or lower the epochs/rate")
    if f.perplexity and not backend.hosted:
        from .probe import GENERAL_TEXT

        try:
            base_ppl = generators["base"].perplexity(GENERAL_TEXT)
            tuned_ppl = generators["tuned"].perplexity(GENERAL_TEXT)
        except BackendError:
            base_ppl = tuned_ppl = None
        if base_ppl is not None:
            out["general_perplexity"] = {"base": round(base_ppl, 3), "tuned": round(tuned_ppl, 3),
                                         "ratio": round(tuned_ppl / base_ppl, 3)}
            if tuned_ppl > base_ppl * PPL_WARN:
                out["warnings"].append(f"perplexity on general text rose from {base_ppl:.1f} to {tuned_ppl:.1f} "
                                       f"(x{tuned_ppl / base_ppl:.2f}): the tuned model drifted from general language")
    if harness:
        from .harness_tasks import compare_scores

        scores = {}
        for key in ("base", "tuned"):
            echo(f"lm-evaluation-harness: {', '.join(harness.tasks)} on the {key} model")
            scores[key] = generators[key].harness(harness)
        out["harness"], warned = compare_scores(scores["base"], scores["tuned"], f.threshold, harness)
        out["warnings"].extend(warned)
    return out


def _base_harness(generator: Any, harness: Any, echo: Callable[[str], None]) -> dict[str, Any] | None:
    """``--baseline-only`` with harness tasks: the base model's scores, to compare a later run with."""
    if not harness:
        return None
    from .harness_tasks import base_scores

    echo(f"lm-evaluation-harness: {', '.join(harness.tasks)} on the base model")
    return {"warnings": [], "harness": base_scores(generator.harness(harness), harness)}


def _assemble(recipe, backend, spec, metrics, items, chosen, refs, answers, model_scores, forgetting, warnings,
              timings, spent_estimate) -> dict[str, Any]:
    per_system: dict[str, dict[str, Any]] = {}
    raw: dict[str, dict[str, list[Any]]] = {}
    for s in chosen:
        raw[s.name] = _score(metrics, answers[s.name], items)
        scores = {m.label: _summary(m, raw[s.name][m.label], spec) for m in metrics if not m.needs_model}
        scores.update(model_scores.get(s.name, {}))
        per_system[s.name] = {"model": refs["tuned" if s.tuned else "base"].to_dict(), "scores": scores,
                              "seconds": timings.get(s.name)}
    primary = metrics[0]
    baselines = [s.name for s in chosen if not s.tuned]
    sign = 1 if primary.higher_is_better else -1
    best = max(baselines, key=lambda b: sign * per_system[b]["scores"][primary.label]["value"]) if baselines else None
    comparison = None
    tuned = any(s.tuned for s in chosen)
    if tuned and best is not None:
        if primary.needs_model:
            raise BackendError("the primary (first) metric must score answers; put perplexity after another metric",
                               field="eval.metrics.0")
        comparison = _compare(primary, raw["tuned"][primary.label], raw[best][primary.label], best, spec)
    return {
        "recipe": recipe.recipe.name, "backend": backend.name, "test": spec.test, "n": len(items),
        "primary": primary.label, "metrics": [m.label for m in metrics], "confidence": spec.confidence,
        "generation": params_of(spec).key(), "systems": per_system, "best_baseline": best,
        "comparison": comparison, "verdict": verdict(comparison, best, primary.label, tuned),
        "worth_it": bool(comparison and comparison["significant"] and comparison["delta"] > 0) if tuned else None,
        "forgetting": forgetting, "warnings": warnings, "estimated_cost_usd": round(spent_estimate, 6),
        "evaluated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _default_out(run: Any, recipe: Any) -> Path:
    from ..home import ftx_home

    if run is not None and run.output_dir and Path(run.output_dir).is_dir():
        return Path(run.output_dir) / "eval"
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    name = run.id if run is not None else f"{recipe.recipe.name}-{recipe.backend}-baseline-{stamp}"
    return ftx_home() / "evals" / name


def summary_of(report: dict[str, Any]) -> dict[str, Any]:
    """What the registry keeps: every score with its interval, the comparison, the verdict, files."""
    return {k: report.get(k) for k in ("verdict", "worth_it", "primary", "n", "best_baseline", "comparison",
                                        "forgetting", "estimated_cost_usd", "evaluated_at", "files", "test")} | {
        "scores": {name: {"model": s["model"]["name"], **{m: v for m, v in s["scores"].items()}}
                   for name, s in report["systems"].items()},
        "models": {name: s["model"] for name, s in report["systems"].items()}}


def record(run_id: str, report: dict[str, Any]) -> None:
    from ..registry import Registry

    with Registry() as registry:
        registry.merge_json(run_id, "extra", {"evaluation": summary_of(report)})
        registry.merge_json(run_id, "artifacts", {"eval_report": report["files"]["report_json"]})
        registry.add_event(run_id, "info", f"evaluated on {report['n']} test items: {report['verdict']}")
