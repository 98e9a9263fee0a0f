"""Checkpoints of a local run and how a killed run continues from them.

The trainer saves ``checkpoints/checkpoint-<step>/`` (weights or adapter, optimizer, scheduler,
RNG states of every process, ``trainer_state.json`` last). After each save, rank 0 writes the
metrics logged so far and then ``checkpoints/latest.json`` naming it: the marker whose
existence makes the run resumable (its path is recorded in the registry). A resume restarts
from the marker's checkpoint when it is complete, else from the newest complete one, and first
cuts ``metrics.jsonl`` back to that step so no step is logged twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import outputs

CHECKPOINTS = "checkpoints"
MARKER = "latest.json"
PREFIX = "checkpoint-"
STATE = "trainer_state.json"  # written last: a checkpoint holding it is complete


def checkpoints_dir(run_dir: Path) -> Path:
    return run_dir / CHECKPOINTS


def marker_path(run_dir: Path) -> Path:
    return checkpoints_dir(run_dir) / MARKER


def write_marker(marker: Path, step: int, batching: str | None = None) -> None:
    """Name checkpoint ``step`` as the one to resume from, with the batching order the run trains
    in (a resume keeps it: :func:`started_batching`)."""
    from ftx.data.atomic import atomic_write

    record: dict[str, Any] = {"step": step, "checkpoint": f"{PREFIX}{step}"}
    if batching:
        record["batching"] = batching
    marker.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(marker) as fh:
        json.dump(record, fh)


def started_batching(checkpoint: Path) -> str | None:
    """The batching order the interrupted run trained in: what the marker records, else (a
    checkpoint ftx wrote before markers recorded it) what its saved training arguments say,
    where ftx before length-grouped batching trained in random order. ``None`` when neither can
    be read. A resume must keep it: the interrupted epoch is cut in that order, and another order
    would train some of its examples twice and skip others."""
    try:
        recorded = json.loads((checkpoint.parent / MARKER).read_text(encoding="utf-8")).get("batching")
    except (OSError, ValueError, AttributeError):
        recorded = None
    if isinstance(recorded, str) and recorded:
        return recorded
    args_file = checkpoint / "training_args.bin"
    if not args_file.is_file():
        return None
    fields = saved_fields(args_file)
    if fields is None:  # unreadable arguments leave the order as the recipe says
        return None
    mode = fields.get("ftx_batching")
    if isinstance(mode, str) and mode:
        return mode
    strategy = fields.get("train_sampling_strategy", "random")
    return "grouped" if str(strategy) == "group_by_length" or strategy == ["group_by_length"] else "random"


class _Recorded:
    """Whatever object a pickle names, rebuilt as nothing but its saved state."""

    args: list[Any] = []
    state: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = list(args)

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __setitem__(self, key: Any, value: Any) -> None:  # a dict subclass's items
        if not isinstance(self.state, dict):
            self.state = {}
        self.state[key] = value


def saved_fields(args_file: Path) -> dict[str, Any] | None:
    """The attributes of the training arguments transformers pickled into ``args_file``
    (``torch.save``), read without running anything the pickle names: every class or function it
    refers to is replaced by :class:`_Recorded`, which only keeps what it is given (an enum member
    reads as its constructor's arguments, e.g. ``["group_by_length"]``). ``None`` when the file
    is not such a pickle."""
    import io
    import pickle
    import zipfile

    class _Reader(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            return _Recorded

        def persistent_load(self, pid: Any) -> Any:  # a tensor's storage: not needed here
            return None

    try:
        with zipfile.ZipFile(args_file) as archive:
            name = next(n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl")
            blob = archive.read(name)
        loaded = _Reader(io.BytesIO(blob)).load()
    except Exception:  # noqa: BLE001 - not a readable torch.save archive
        return None
    state = loaded.state if isinstance(loaded, _Recorded) else None
    if isinstance(state, tuple) and state and isinstance(state[-1], dict):
        state = state[-1]  # (None, slots) and the like
    if not isinstance(state, dict):
        return None
    return {str(k): (v.args if isinstance(v, _Recorded) else v) for k, v in state.items()}


def stop_at_max_steps(trainer: Any) -> None:
    """Train nothing past ``max_steps`` when resuming from a checkpoint that already reached it.

    The final step is checkpointed, so a run killed between that save and its summary (final
    evaluation, samples, the adapter; or Ray workers outliving their driver a moment) resumes at
    ``global_step == max_steps``. When that step falls inside an epoch, transformers re-enters the
    epoch and checks ``max_steps`` only after one more optimizer step: the run would end one step
    past its recipe. Here an epoch that starts with the steps already done is skipped (the
    trainer then finishes as an uninterrupted run did after its last step)."""
    import types

    original = getattr(trainer, "_run_epoch", None)
    if original is None:  # another trainer loop: its own checks apply
        return

    def _run_epoch(self: Any, *args: Any, **kwargs: Any) -> Any:
        if 0 < self.state.max_steps <= self.state.global_step:
            self.control.should_training_stop = True
            return None
        return original(*args, **kwargs)

    trainer._run_epoch = types.MethodType(_run_epoch, trainer)


def _step_of(path: Path) -> int | None:
    name = path.name
    return int(name[len(PREFIX):]) if name.startswith(PREFIX) and name[len(PREFIX):].isdigit() else None


def is_complete(checkpoint: Path) -> bool:
    return (checkpoint / STATE).is_file()


def find_checkpoint(run_dir: Path) -> tuple[Path, int] | None:
    """The checkpoint a resume starts from, with its step; ``None`` when there is none complete."""
    folder = checkpoints_dir(run_dir)
    try:
        named = json.loads(marker_path(run_dir).read_text(encoding="utf-8"))["checkpoint"]
        if is_complete(folder / named) and _step_of(folder / named) is not None:
            return folder / named, _step_of(folder / named) or 0
    except (OSError, ValueError, KeyError, TypeError):
        pass
    found = sorted(((_step_of(p), p) for p in folder.glob(f"{PREFIX}*") if _step_of(p) is not None),
                   reverse=True)
    for step, path in found:
        if is_complete(path):
            return path, int(step or 0)
    return None


def checkpoint_state(checkpoint: Path) -> dict[str, Any]:
    """The trainer state saved with a checkpoint (global step, tokens seen, log history)."""
    return json.loads((checkpoint / STATE).read_text(encoding="utf-8"))


def trim_metrics(path: Path, step: int) -> list[dict[str, Any]]:
    """Cut ``metrics.jsonl`` back to the records up to ``step`` (those after it are redone by the
    resumed run) and return them."""
    kept = [r for r in outputs.read_jsonl(path) if isinstance(r.get("step"), int) and r["step"] <= step]
    outputs.write_jsonl(path, kept)
    return kept


def _number(value: Any) -> float | None:
    """A logged value as a float ("nan" and "inf" were written as text)."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def replay_health(monitor: Any, records: list[dict[str, Any]]) -> None:
    """Feed a resumed run's earlier logs to its health monitor, in the order they were logged,
    so warnings, the best evaluation and early stopping's patience carry on where they were."""
    for record in records:
        step = record["step"]
        loss = _number(record.get("loss"))
        if loss is not None:
            monitor.on_train_log(step, loss, _number(record.get("grad_norm")))
        eval_loss = _number(record.get("eval_loss"))
        if eval_loss is not None:
            monitor.on_eval(step, eval_loss)


def baseline_of(records: list[dict[str, Any]]) -> float | None:
    """The validation loss measured before training (the step-0 evaluation), if it was."""
    for record in records:
        if record.get("step") == 0:
            return _number(record.get("eval_loss"))
    return None
