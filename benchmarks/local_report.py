"""Machine description and the markdown tables of ``bench_local.py``'s results."""

from __future__ import annotations

import os
import platform
from typing import Any


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on (versions included: they move throughput)."""
    import importlib.metadata as md

    import psutil
    import torch

    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    versions = {}
    for name in ("torch", "transformers", "peft", "trl", "accelerate", "bitsandbytes", "ftx"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    return {"cpu": cpu, "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "python": platform.python_version(),
            "platform": platform.platform(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None, "versions": versions}


def _n(value: Any, spec: str = ",.0f") -> str:
    return format(value, spec) if isinstance(value, (int, float)) else "-"


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    quick = " (quick mode: smoke-test sizes, not for quoting)" if result["quick"] else ""
    lines = [f"# Local backend benchmarks{quick}",
             "", f"{m['cpu']}, {m['cpus']} CPUs, {m['memory_gb']} GB; torch {m['versions']['torch']}, "
                 f"transformers {m['versions']['transformers']}, peft {m['versions']['peft']}, "
                 f"trl {m['versions']['trl']}; "
                 f"load average at start {m['load_average_at_start']}, at end {m.get('load_average_at_end')}. "
                 f"Total {result['seconds']} s.", ""]
    lines += _overhead(result["overhead"]) + _defaults(result["defaults"]) + _methods(result["methods"])
    return "\n".join(lines) + "\n"


def _overhead(o: dict[str, Any]) -> list[str]:
    hp = o["hyperparameters"]
    rows = [("ftx (`run_local` on a recipe)", o["ftx"]), ("hand-written TRL script, same threads", o["baseline"]),
            ("hand-written TRL script, torch default threads", o["baseline_default_threads"])]
    out = ["## (a) ftx vs the equivalent hand-written TRL script", "",
           f"{o['model']}, LoRA, quickstart data, {hp['steps']} steps, batch {hp['batch_size']}, seed {hp['seed']}; "
           f"median of {o['repeats']} interleaved runs (tokens/s of each run: ftx {o['ftx']['tokens_per_s_runs']}, "
           f"baseline {o['baseline']['tokens_per_s_runs']}).", "",
           "| | real tokens/s | train s | of which checkpoints | end-to-end s | threads |",
           "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, r in rows:
        saves = f"{r['checkpoint_s']:.2f} s ({r['checkpoints']})" if r.get("checkpoints") else "-"
        out.append(f"| {name} | {_n(r['tokens_per_s'])} | {r['train_s']:.2f} | {saves} | {r['end_to_end_s']:.2f} | "
                   f"{r.get('threads', '-')} |")
    out += ["", f"tokens/s ratio ftx / baseline: **{o['tokens_per_s_ratio']}** of the medians "
                f"({o['tokens_per_s_ratio_best']} of the best runs; "
                f"{o['tokens_per_s_ratio_without_checkpoint_saves']} without ftx's checkpoint saves); "
                "end-to-end time ratio "
                f"{o['end_to_end_time_ratio']} (ftx also answers sample prompts before and after, evaluates, "
                f"plots); max loss difference over {o['logged_steps']} logged steps: **{o['max_loss_diff']}**.", ""]
    return out


def _defaults(d: dict[str, Any]) -> list[str]:
    data = d["data"]
    out = ["## (b) ftx defaults vs TRL defaults, variable-length chat", "",
           f"{data['examples']} generated chat examples of {data['min']}-{data['max']} tokens "
           f"(median {data['median']}); "
           f"{d['model']}, {d['method']}. Real tokens exclude padding.", "",
           "| variant | real tokens/s | padding | steps | settings |", "| --- | ---: | ---: | ---: | --- |"]
    for name, r in d["variants"].items():
        out.append(f"| {name} | {_n(r['tokens_per_s'])} | {r['padding_fraction']:.0%} | {r['steps']} | "
                   f"{r['settings']} |")
    out += ["", f"ftx defaults / TRL defaults: **{d['ratio_vs_trl_default_literal']}x** against the literal "
                f"defaults (bf16 on CPU), **{d['ratio_vs_trl_default_cpu_sane']}x** against the CPU-sane ones "
                f"(bf16 off), **{d['ratio_vs_trl_default_cpu_sane_ftx_threads']}x** against the CPU-sane ones on "
                "ftx's thread count. Without `use_cpu=True`, `SFTConfig()` on this machine says: "
                f"\"{d['literal_defaults_on_this_machine']}\"", ""]
    return out


def _peak_how(c: dict[str, Any]) -> str:
    rows = [r for m in c["models"].values() for r in m["methods"].values()]
    return rows[0]["peak_measured_by"] if rows else "-"


def _methods(c: dict[str, Any]) -> list[str]:
    out = ["## (c) memory and throughput per method", "",
           f"{c['data']}. Peak = the process's peak RSS during the run (CPU; {_peak_how(c)}); "
           "over start = peak minus the RSS the run started from (libraries already loaded).", ""]
    for key, model in c["models"].items():
        size = f"{model['parameters'] / 1e6:.1f}M parameters"
        if "hidden_size" in model:
            size += f" (random-weight Llama: hidden {model['hidden_size']}, {model['num_hidden_layers']} layers)"
        out += [f"**{key}**: {size}, {model['steps']} steps", "",
                "| method | trainable | real tokens/s | peak MB | over start MB |",
                "| --- | ---: | ---: | ---: | ---: |"]
        for method, r in model["methods"].items():
            share = r["trainable_parameters"] / max(r["total_parameters"], 1)
            out.append(f"| {method} | {share:.2%} | {_n(r['tokens_per_s'])} | {_n(r['peak_rss_mb'])} | "
                       f"{_n(r['peak_over_start_mb'])} |")
        out.append("")
    return out
