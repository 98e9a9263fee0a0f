from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class FireworksOptions(BaseModel):
    """``backends.fireworks`` options."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first validated
    account: str | None = Field(None, description="Fireworks account id (else FIREWORKS_ACCOUNT_ID)")
    download: Literal["none", "adapter"] = Field(
        "none", description="download the tuned adapter into the run's folder when the job succeeds")
