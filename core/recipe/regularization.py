"""``method.regularization``: keep the fine-tuned weights near the base model, against forgetting.

* ``l2sp`` (L2-SP, Li et al. 2018): adds ``strength / 2 * sum((w - w_base)^2)`` over the trained
  parameters, pulling them toward their starting point instead of toward zero.
* ``ewc`` (elastic weight consolidation, Kirkpatrick et al. 2017): the same distance weighted by
  the diagonal Fisher information of each parameter on a general set (``fisher_set``, default
  ftx's own ``ftx:general``), estimated before training and cached: weights that matter for
  general text move least.

With an adapter method (LoRA, ...) the trained parameters are the adapter's, and their starting
point is the adapter's initialisation: the penalty keeps the update small. Backends that cannot
add a term to the training loss (every hosted one) refuse the field by name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RegularizationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["l2sp", "ewc"] = Field(description="l2sp (distance to the base) or ewc (Fisher-weighted)")
    strength: float = Field(0.01, gt=0, description="weight of the penalty in the loss")
    fisher_set: str = Field("ftx:general", description="ewc: general data the Fisher information is estimated on")
    fisher_examples: int = Field(64, ge=1, le=10_000, description="ewc: examples used to estimate it")
