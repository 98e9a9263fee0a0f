"""Experiment tracking: MLflow, Weights & Biases and TensorBoard for runs on every backend.

A recipe's ``tracking:`` section names the trackers (see :mod:`.spec`). Local runs log their
training curves through the trainer's own integrations, pointed by ftx at the tracker runs it
opened; hosted runs have ftx stream the job's metrics while it follows the job
(:mod:`.hosted`). Every run gets the estimate, the actual cost, evaluation results, artifacts
and lineage tags at its end. Tracker libraries are optional extras, imported only here, only
when a run uses them; a failing tracker warns once and never fails the run.
"""

from __future__ import annotations

from .base import RunInfo, Tracker
from .session import Tracking, spec_of, tracked

__all__ = ["RunInfo", "Tracker", "Tracking", "spec_of", "tracked"]
