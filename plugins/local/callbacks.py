"""Trainer callbacks: ``metrics.jsonl`` (one line per logging step) and the live progress display."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Callable

METRIC_KEYS = ("loss", "eval_loss", "learning_rate", "grad_norm")


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: they are written as strings so the line stays valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


class MetricsLog:
    """Collects logging steps into records and appends them to ``metrics.jsonl``.

    A step's training log and the evaluation that follows it arrive separately; they are merged
    into one record, written when a later step arrives, at a checkpoint (:meth:`flush`) or at
    :meth:`close`. ``previous`` continues a resumed run: those records are already in the file,
    which is appended to. ``write=False`` keeps the records in memory only (the training
    processes other than rank 0, which must take the same decisions but write nothing).
    """

    def __init__(self, path: Path, previous: list[dict[str, Any]] | None = None, write: bool = True):
        self.path = path
        self.write = write
        self.records: list[dict[str, Any]] = list(previous or [])
        self._pending: dict[str, Any] | None = None
        self._rewrite = False  # a record already written gained keys: rewrite the file
        self._tokens = 0
        self._clock = time.perf_counter()
        self._eval_seconds = 0.0  # evaluation time since the last training log
        self.total_eval_seconds = 0.0
        self.closed = False
        if write and previous is None:
            path.write_text("", encoding="utf-8")

    def add(self, step: int, epoch: float | None, logs: dict[str, Any], tokens_seen: int) -> dict[str, Any] | None:
        if self.closed:
            return None
        if self._pending is not None and self._pending["step"] != step:
            self._flush()
        if self._pending is None and self.records and self.records[-1]["step"] == step:
            # More for a step written at a checkpoint (the final evaluation, say): merge, don't repeat.
            self._pending, self._rewrite = self.records.pop(), True
        record = self._pending or {"step": step, "epoch": round(epoch, 4) if epoch is not None else None}
        record.update({k: _clean(v) for k, v in logs.items()
                       if k in METRIC_KEYS or (k.startswith("eval_task_") and k.endswith("_loss"))})
        if "eval_runtime" in logs:
            self._eval_seconds += float(logs["eval_runtime"])
            self.total_eval_seconds += float(logs["eval_runtime"])
        if "loss" in logs:
            now = time.perf_counter()
            seconds = max(now - self._clock - self._eval_seconds, 1e-9)
            if tokens_seen:
                record["tokens_per_second"] = round((tokens_seen - self._tokens) / seconds, 1)
            self._tokens, self._clock, self._eval_seconds = tokens_seen, now, 0.0
        self._pending = record
        return record

    def start(self, tokens_seen: int = 0) -> None:
        """Training begins (or resumes, with ``tokens_seen`` so far): throughput is measured from here."""
        self._clock, self._eval_seconds, self._tokens = time.perf_counter(), 0.0, tokens_seen

    def has_eval_at(self, step: int) -> bool:
        pending = [self._pending] if self._pending else []
        return any(r["step"] == step and "eval_loss" in r for r in self.records + pending)

    def _flush(self) -> None:
        if self._pending is None:
            return
        self.records.append(self._pending)
        self._pending = None
        if not self.write:
            return
        if self._rewrite:
            from .outputs import write_jsonl

            write_jsonl(self.path, self.records)
            self._rewrite = False
            return
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(self.records[-1]) + "\n")

    def flush(self) -> None:
        """Write the step in progress now (a checkpoint was saved: a resume starts after it)."""
        self._flush()

    def close(self) -> None:
        """Write the last record; later logs are ignored."""
        self._flush()
        self.closed = True


def metrics_callback(log: MetricsLog) -> Any:
    from transformers import TrainerCallback

    class MetricsCallback(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            log.start(state.num_input_tokens_seen or 0)

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            if any(k in logs for k in ("loss", "eval_loss")) or any(k.startswith("eval_task_") for k in logs):
                log.add(state.global_step, state.epoch, logs, state.num_input_tokens_seen)

    return MetricsCallback()


def checkpoint_callback(log: MetricsLog, marker: Path) -> Any:
    """After each checkpoint: the metrics up to it are written, then ``marker`` names it. The
    marker is what tells ftx (and ``ftx run --resume``) that the run can be resumed."""
    from transformers import TrainerCallback

    from .resume import write_marker

    class CheckpointCallback(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                log.flush()
                write_marker(marker, state.global_step, getattr(args, "ftx_batching", None))

    return CheckpointCallback()


def progress_callback(echo: Callable[[str], None], every_evals: bool, show_bar: bool = True) -> Any:
    """A tqdm bar with the latest loss, plus one printed line per evaluation (or, without
    evaluation, about ten lines over the run) so the falling loss stays on screen."""
    from tqdm.auto import tqdm
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        bar: Any = None
        last_loss: float | None = None
        next_print = 0

        def on_train_begin(self, args, state, control, **kwargs):
            if not show_bar:
                return
            self.bar = tqdm(total=state.max_steps, desc="training", unit="step", dynamic_ncols=True,
                            mininterval=0.5)

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            say = echo  # (the default echo writes through tqdm, so the bar is not broken)
            if "loss" in logs:
                self.last_loss = logs["loss"]
                if self.bar is not None:
                    self.bar.set_postfix(loss=f"{logs['loss']:.4f}", refresh=False)
                if not every_evals and state.global_step >= self.next_print:
                    self.next_print = state.global_step + max(1, state.max_steps // 10)
                    say(f"step {state.global_step:>5}  epoch {state.epoch or 0:5.2f}  loss {logs['loss']:.4f}")
            if "eval_loss" in logs and state.global_step == 0:
                say(f"baseline eval_loss {logs['eval_loss']:.4f} (before training)")
            elif "eval_loss" in logs:
                train = f"  loss {self.last_loss:.4f}" if self.last_loss is not None else ""
                say(f"step {state.global_step:>5}  epoch {state.epoch or 0:5.2f}{train}  "
                    f"eval_loss {logs['eval_loss']:.4f}")

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    return Progress()
