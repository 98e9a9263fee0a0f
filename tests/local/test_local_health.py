"""The training-health monitor on synthetic loss/gradient sequences, and its trainer callback."""

from __future__ import annotations

import math

from ftx.plugins.local.health import HealthConfig, HealthMonitor, health_callback


def feed_train(monitor: HealthMonitor, losses, grads=None, start: int = 1) -> list[str]:
    out = []
    for i, loss in enumerate(losses):
        out += monitor.on_train_log(start + i, loss, grads[i] if grads else None)
    return out


def kinds(monitor: HealthMonitor) -> list[str]:
    return [w.kind for w in monitor.warnings]


def test_a_healthy_noisy_run_raises_nothing():
    monitor = HealthMonitor()
    losses = [3.0 * math.exp(-i / 20) + 0.05 * ((-1) ** i) + 0.1 for i in range(100)]
    grads = [1.0 + 0.3 * ((-1) ** i) for i in range(100)]
    assert feed_train(monitor, losses, grads) == []
    for step, loss in ((20, 2.0), (40, 1.5), (60, 1.2), (80, 1.1)):
        assert monitor.on_eval(step, loss) == []
    assert monitor.warnings == [] and not monitor.should_stop
    assert monitor.best_eval == (80, 1.1)


def test_nan_loss_warns_and_stops_training():
    monitor = HealthMonitor()
    out = feed_train(monitor, [2.0, 1.8, float("nan")])
    assert len(out) == 1 and "nan" in out[0] and "step 3" in out[0]
    assert kinds(monitor) == ["nan"] and monitor.should_stop


def test_infinite_loss_is_caught_too():
    monitor = HealthMonitor()
    feed_train(monitor, [2.0, float("inf")])
    assert kinds(monitor) == ["nan"] and monitor.should_stop


def test_a_spike_over_the_running_minimum_is_divergence_warned_once_per_episode():
    monitor = HealthMonitor()
    out = feed_train(monitor, [3.0, 2.0, 1.0, 0.9, 0.8, 2.5, 3.0, 4.0])
    assert len(out) == 1
    assert "spiked to 2.5" in out[0] and "lowest so far 0.8" in out[0] and "step 6" in out[0]
    # the loss recovers, then spikes again: a new episode, a new warning
    feed_train(monitor, [0.7, 0.7, 3.0], start=9)
    assert kinds(monitor) == ["divergence", "divergence"]
    assert monitor.warnings[-1].step == 11
    assert not monitor.should_stop  # divergence warns; only NaN stops


def test_small_absolute_wobbles_at_low_loss_are_not_divergence():
    monitor = HealthMonitor()
    feed_train(monitor, [1.0, 0.5, 0.1, 0.02, 0.05, 0.01, 0.06])  # 3-6x the minimum, tiny in absolute terms
    assert monitor.warnings == []


def test_no_divergence_judged_before_enough_logs():
    monitor = HealthMonitor(HealthConfig(min_train_logs=3))
    feed_train(monitor, [1.0, 3.0, 4.0])  # the first logs of a run are volatile
    assert monitor.warnings == []


def test_exploding_gradient_norm_against_the_median():
    monitor = HealthMonitor()
    out = feed_train(monitor, [2.0, 1.9, 1.8, 1.7, 1.6, 1.5], grads=[1.0, 1.2, 0.9, 1.1, 25.0, 30.0])
    assert kinds(monitor) == ["exploding-gradient"]
    assert "25" in out[0] and "step 5" in out[0]


def test_absolute_gradient_limit_and_non_finite_norm():
    monitor = HealthMonitor(HealthConfig(grad_limit=100.0))
    feed_train(monitor, [2.0], grads=[500.0])
    feed_train(monitor, [1.9], grads=[float("nan")], start=2)
    assert kinds(monitor) == ["exploding-gradient", "exploding-gradient"]


def test_overfitting_names_the_best_step():
    monitor = HealthMonitor()
    train = iter([2.0, 1.5, 1.0, 0.6, 0.3])
    evals = [(10, 2.1), (20, 1.7), (30, 1.8), (40, 1.95)]
    out = []
    for step, loss in evals:
        out += monitor.on_train_log(step, next(train))
        out += monitor.on_eval(step, loss)
    assert kinds(monitor) == ["overfitting"]
    assert "best validation loss 1.7 at step 20" in out[0]
    assert "1.7 -> 1.8 -> 1.95" in out[0]
    # a further rise is the same episode: no second warning
    monitor.on_train_log(50, next(train))
    monitor.on_eval(50, 2.1)
    assert kinds(monitor) == ["overfitting"]


def test_rising_validation_with_rising_training_loss_is_not_overfitting():
    monitor = HealthMonitor()
    for step, (tr, ev) in enumerate([(1.0, 1.0), (1.1, 1.2), (1.2, 1.3)], start=1):
        monitor.on_train_log(step, tr)
        monitor.on_eval(step, ev)
    assert "overfitting" not in kinds(monitor)


def test_overfitting_names_the_checkpoint_when_checkpoints_are_saved():
    monitor = HealthMonitor(HealthConfig(checkpoints=True))
    for step, (tr, ev) in enumerate([(2.0, 1.0), (1.0, 1.1), (0.5, 1.2)], start=1):
        monitor.on_train_log(step * 10, tr)
        monitor.on_eval(step * 10, ev)
    assert "step 10 (checkpoint-10)" in monitor.warnings[0].message


def test_early_stopping_after_patience_evaluations_without_improvement():
    monitor = HealthMonitor(HealthConfig(patience=2))
    monitor.on_eval(10, 1.0)
    monitor.on_eval(20, 0.8)
    monitor.on_eval(30, 0.85)
    assert not monitor.should_stop
    out = monitor.on_eval(40, 0.81)
    assert monitor.should_stop
    assert "early stopping at step 40" in out[-1] and "best 0.8 at step 20" in out[-1]
    assert monitor.to_dict()["best_eval_step"] == 20


def test_improvement_resets_patience():
    monitor = HealthMonitor(HealthConfig(patience=2))
    for step, loss in ((1, 1.0), (2, 1.1), (3, 0.9), (4, 0.95)):
        monitor.on_eval(step, loss)
    assert not monitor.should_stop


def test_callback_feeds_the_monitor_and_stops_the_trainer():
    from transformers import TrainerControl, TrainerState

    monitor = HealthMonitor()
    printed: list[str] = []
    callback = health_callback(monitor, printed.append)
    state, control = TrainerState(), TrainerControl()
    state.global_step = 7
    callback.on_log(None, state, control, logs={"loss": 1.0, "grad_norm": 0.5})
    assert not control.should_training_stop and printed == []
    state.global_step = 8
    callback.on_log(None, state, control, logs={"loss": float("nan"), "grad_norm": 0.5})
    assert control.should_training_stop
    assert printed and printed[0].startswith("warning: training loss is nan at step 8")
    callback.on_log(None, state, control, logs={"eval_loss": 0.9})
    assert monitor.best_eval == (8, 0.9)
