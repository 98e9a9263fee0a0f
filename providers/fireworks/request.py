"""Recipe -> the exact Fireworks AI job request. Offline.

Supervised jobs (``POST /v1/accounts/ACCOUNT/supervisedFineTuningJobs``) take ``dataset``,
``baseModel``, ``epochs``, ``learningRate``, ``loraRank``, ``batchSize``, ``maxContextLength`` and
``evaluationDataset`` at the top level; DPO jobs (``.../dpoJobs``) the same training fields under
``trainingConfig``. Fireworks lets the caller name a job (``?supervisedFineTuningJobId=``): ftx
names it after the idempotency key (``ftx`` + 12 hex digits), so a job is found again by its name
and a second create of the same launch is refused by Fireworks itself (409).
"""

from __future__ import annotations

from typing import Any

from ftx.hosted import key_tag


def build_request(recipe: Any, has_validation: bool) -> dict[str, Any]:
    hp = recipe.recipe.hyperparameters
    training: dict[str, Any] = {"baseModel": recipe.model}
    if isinstance(hp.epochs, int) and not isinstance(hp.epochs, bool):
        training["epochs"] = hp.epochs
    if hp.learning_rate is not None:
        training["learningRate"] = float(hp.learning_rate)
    r = getattr(recipe.method_params, "r", None)
    if isinstance(r, int):
        training["loraRank"] = r
    if recipe.is_set("hyperparameters.batch_size") and isinstance(hp.batch_size, int):
        training["batchSize"] = hp.batch_size
    if recipe.is_set("hyperparameters.max_length") and hp.max_length:
        training["maxContextLength"] = hp.max_length
    data: dict[str, Any] = {"dataset": {"$upload": "train"}, "displayName": recipe.recipe.name[:40]}
    if has_validation:
        data["evaluationDataset"] = {"$upload": "validation"}
    if recipe.recipe.objective == "dpo":
        if hp.beta is not None:
            training["beta"] = float(hp.beta)
        return {"kind": "dpoJobs", "body": {**data, "trainingConfig": training}}
    return {"kind": "supervisedFineTuningJobs", "body": {**data, **training}}


def tag_request(request: dict[str, Any], key: str) -> dict[str, Any]:
    """The job is named after the key: ``jobId`` (sent as the ``...JobId`` query parameter)."""
    return {**request, "jobId": key_tag(key)}
