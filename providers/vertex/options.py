from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class VertexOptions(BaseModel):
    """``backends.vertex`` options; each also comes from the environment."""

    model_config = ConfigDict(extra="forbid")
    project: str | None = Field(None, description="GCP project (else GOOGLE_CLOUD_PROJECT)")
    location: str | None = Field(None, description="region (else GOOGLE_CLOUD_LOCATION, then us-central1)")
    bucket: str | None = Field(None, description="staging bucket (else FTX_VERTEX_BUCKET)")
    display_name: str | None = Field(None, description="tuned model display name (default: recipe name)")
