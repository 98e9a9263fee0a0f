from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FireworksOptions(BaseModel):
    """``backends.fireworks`` options."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first validated
    account: str | None = Field(None, description="Fireworks account id (else FIREWORKS_ACCOUNT_ID)")
