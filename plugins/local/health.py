"""Training health: warn live (and into the summary) when a run goes wrong.

:class:`HealthMonitor` is plain logic fed with logged values, so it is tested on synthetic
sequences; :func:`health_callback` wraps it as a ``transformers`` callback that also stops
training on NaN loss and, with a patience, early-stops on a validation loss that stopped improving.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass(frozen=True)
class HealthConfig:
    spike_ratio: float = 2.0  # divergence: loss above ratio x the running minimum ...
    spike_margin: float = 0.5  # ... and at least this much above it (tiny losses are noisy)
    min_train_logs: int = 3  # judge spikes and gradients only after this many logs
    grad_ratio: float = 10.0  # exploding gradient: norm above ratio x the median so far ...
    grad_limit: float = 1e3  # ... or above this absolute value
    overfit_rises: int = 2  # overfitting: validation loss rose this many evaluations in a row
    patience: int | None = None  # early stopping: evaluations without improvement
    checkpoints: bool = False  # whether checkpoint-<step> folders are saved at evaluations


@dataclass
class HealthWarning:
    kind: str  # "nan", "divergence", "exploding-gradient", "overfitting", "early-stopping"
    step: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "step": self.step, "message": self.message}


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


@dataclass
class HealthMonitor:
    config: HealthConfig = field(default_factory=HealthConfig)
    warnings: list[HealthWarning] = field(default_factory=list)
    should_stop: bool = False
    best_eval: tuple[int, float] | None = None  # (step, loss)
    _min_loss: float = math.inf
    _train_logs: int = 0
    _last_train: float | None = None
    _grads: list[float] = field(default_factory=list)
    _evals: list[tuple[int, float, float | None]] = field(default_factory=list)  # step, eval, train
    _armed: dict[str, bool] = field(default_factory=lambda: {"divergence": True, "grad": True, "overfit": True})

    def _warn(self, kind: str, step: int, message: str) -> str:
        self.warnings.append(HealthWarning(kind, step, message))
        return message

    def _where(self, step: int) -> str:
        return f"step {step} (checkpoint-{step})" if self.config.checkpoints and step else f"step {step}"

    def on_train_log(self, step: int, loss: float | None, grad_norm: float | None = None) -> list[str]:
        """Feed one training log; returns the warnings it raised."""
        out: list[str] = []
        if loss is None:
            return out
        if not _finite(loss):
            self.should_stop = True
            out.append(self._warn("nan", step, f"training loss is {loss} at step {step}: training stopped "
                                               "(lower the learning rate or check the data)"))
            return out
        self._train_logs += 1
        cfg = self.config
        judged = self._train_logs > cfg.min_train_logs
        spiking = loss > max(self._min_loss * cfg.spike_ratio, self._min_loss + cfg.spike_margin)
        if judged and spiking and self._armed["divergence"]:
            self._armed["divergence"] = False
            out.append(self._warn("divergence", step, f"training loss spiked to {loss:.4g} at step {step} "
                                                      f"(lowest so far {self._min_loss:.4g}): training may be "
                                                      "diverging; try a lower learning rate"))
        elif not spiking:
            self._armed["divergence"] = True
        self._min_loss = min(self._min_loss, loss)
        self._last_train = loss
        if grad_norm is not None:
            out += self._check_grad(step, grad_norm)
        return out

    def _check_grad(self, step: int, norm: float) -> list[str]:
        cfg = self.config
        if not _finite(norm):
            return [self._warn("exploding-gradient", step, f"gradient norm is {norm} at step {step}")]
        median = statistics.median(self._grads) if len(self._grads) >= cfg.min_train_logs else None
        exploding = norm > cfg.grad_limit or (median is not None and norm > cfg.grad_ratio * max(median, 1e-8))
        self._grads.append(norm)
        if exploding and self._armed["grad"]:
            self._armed["grad"] = False
            typical = f" (typical {median:.3g})" if median is not None else ""
            return [self._warn("exploding-gradient", step, f"gradient norm exploded to {norm:.3g} at step "
                                                           f"{step}{typical}; clipping holds the update to "
                                                           "max_grad_norm, but a lower learning rate may help")]
        if not exploding:
            self._armed["grad"] = True
        return []

    def on_eval(self, step: int, eval_loss: float | None) -> list[str]:
        """Feed one evaluation; returns the warnings it raised."""
        out: list[str] = []
        if eval_loss is None or not _finite(eval_loss):
            if eval_loss is not None:
                out.append(self._warn("nan", step, f"validation loss is {eval_loss} at step {step}"))
            return out
        self._evals.append((step, eval_loss, self._last_train))
        if self.best_eval is None or eval_loss < self.best_eval[1]:
            self.best_eval = (step, eval_loss)
            self._armed["overfit"] = True
        out += self._check_overfit(step)
        out += self._check_patience(step)
        return out

    def _check_overfit(self, step: int) -> list[str]:
        n = self.config.overfit_rises
        if len(self._evals) < n + 1 or not self._armed["overfit"]:
            return []
        window = self._evals[-(n + 1):]
        rising = all(b[1] > a[1] for a, b in zip(window, window[1:]))
        first_train, last_train = window[0][2], window[-1][2]
        falling = first_train is not None and last_train is not None and last_train < first_train
        if not (rising and falling):
            return []
        self._armed["overfit"] = False
        assert self.best_eval is not None
        best_step, best = self.best_eval
        evals = " -> ".join(f"{e[1]:.4g}" for e in window)
        return [self._warn("overfitting", step, f"overfitting: validation loss rose {n} evaluations in a row "
                                                f"({evals}) while training loss fell ({first_train:.4g} -> "
                                                f"{last_train:.4g}); best validation loss {best:.4g} at "
                                                f"{self._where(best_step)}")]

    def _check_patience(self, step: int) -> list[str]:
        patience = self.config.patience
        if not patience or self.best_eval is None or self.should_stop:
            return []
        since = sum(1 for s, _, _ in self._evals if s > self.best_eval[0])
        if since < patience:
            return []
        self.should_stop = True
        best_step, best = self.best_eval
        return [self._warn("early-stopping", step, f"early stopping at step {step}: validation loss has not "
                                                   f"improved for {since} evaluations; best {best:.4g} at "
                                                   f"{self._where(best_step)}")]

    def to_dict(self) -> dict[str, Any]:
        return {"warnings": [w.to_dict() for w in self.warnings],
                "best_eval_step": self.best_eval[0] if self.best_eval else None,
                "best_eval_loss": self.best_eval[1] if self.best_eval else None}


def health_callback(monitor: HealthMonitor, echo: Callable[[str], None]) -> Any:
    """A ``TrainerCallback`` feeding ``monitor`` from the trainer's logs, printing its warnings
    and stopping training when it says so."""
    from transformers import TrainerCallback

    class HealthCallback(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            logs = logs or {}
            step = state.global_step
            messages: list[str] = []
            if "loss" in logs:
                messages += monitor.on_train_log(step, logs["loss"], logs.get("grad_norm"))
            if "eval_loss" in logs:
                messages += monitor.on_eval(step, logs["eval_loss"])
            for message in messages:
                echo(f"warning: {message}")
            if monitor.should_stop:
                control.should_training_stop = True
            return control

    return HealthCallback()
