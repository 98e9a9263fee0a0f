"""One training process of a multi-process local run: ``python -m ftx.plugins.local.worker SPEC``,
started by torchrun (see :mod:`.launch`), which sets ``RANK``, ``LOCAL_RANK`` and ``WORLD_SIZE``.

It rebuilds the recipe from the spec (the same file and overrides, checked against the hash the
parent recorded), then trains as its rank. It never touches the registry; rank 0 writes the
outputs and the summary the parent reads.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any


def _rank(name: str, default: int = 0) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def load_spec(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def rebuild(spec: dict[str, Any]) -> tuple[Any, Any]:
    """The recipe and this rank's run context, from the spec and torchrun's environment."""
    from ftx.errors import BackendError
    from ftx.recipe import load_recipe

    from .context import RunContext

    rank, local_rank, world = _rank("RANK"), _rank("LOCAL_RANK"), _rank("WORLD_SIZE", 1)
    if world != spec["world_size"]:
        raise BackendError(f"the launch planned {spec['world_size']} processes but torchrun started {world}")
    recipe = load_recipe(spec["recipe"], spec.get("overrides") or (), backend="local")
    if recipe.snapshot_hash() != spec["recipe_hash"]:
        raise BackendError(f"{spec['recipe']} changed after the run started; run it again")
    _pick_device(recipe, local_rank)
    return recipe, RunContext.from_spec(spec, rank=rank, local_rank=local_rank)


def train(recipe: Any, ctx: Any, progress: bool) -> dict[str, Any]:
    """Train as this rank; returns its summary (rank 0 also wrote it to summary.json)."""
    from .quiet import no_deprecation_notices
    from .train import default_echo, run_prepared

    with no_deprecation_notices():
        return run_prepared(recipe, ctx, echo=default_echo, progress=progress and ctx.is_main)


def _pick_device(recipe: Any, local_rank: int) -> None:
    """One GPU per process: this rank's becomes the current device (where "cuda" places tensors)."""
    from .device import detect_device

    if detect_device(getattr(recipe.options, "device", "auto") or "auto") == "cuda":
        import torch

        torch.cuda.set_device(local_rank)


def main(argv: list[str] | None = None) -> int:
    from ftx.errors import FtxError

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m ftx.plugins.local.worker SPEC.json (started by torchrun)", file=sys.stderr)
        return 2
    started = False
    try:
        spec = load_spec(args[0])
        recipe, ctx = rebuild(spec)
        started = True
        train(recipe, ctx, bool(spec.get("progress")))
    except FtxError as exc:
        # Once training started, rank 0's summary holds the error and the parent reports it.
        if not started and _rank("RANK") == 0:
            for line in exc.lines():
                print(f"error: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception:  # noqa: BLE001 - a bug: show where, then fail this rank (torchrun stops the others)
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
