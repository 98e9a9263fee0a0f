from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ftx.hosted.tags import check_user_tags, user_tag_limit

# Cloud labels: at most 64 per resource; ftx uses 2 (ftx_client_key, ftx_recipe).
MAX_LABELS = 64
MAX_USER_LABELS = user_tag_limit(MAX_LABELS)
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")


class VertexOptions(BaseModel):
    """``backends.vertex`` options; each also comes from the environment."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first validated
    project: str | None = Field(None, description="GCP project (else GOOGLE_CLOUD_PROJECT, then the ADC project)")
    location: str | None = Field(None, description="region (else GOOGLE_CLOUD_LOCATION, then us-central1)")
    bucket: str | None = Field(None, description="staging bucket, gs://BUCKET[/PREFIX] (else FTX_VERTEX_BUCKET)")
    display_name: str | None = Field(None, min_length=1, max_length=128,
                                     description="tuned model display name (default: the recipe name)")
    endpoint: str | None = Field(None, description="API endpoint for private/regional access "
                                                   "(else FTX_VERTEX_ENDPOINT)")
    labels: dict[str, str] = Field(default_factory=dict,
                                   description=f"labels on the tuning job (at most {MAX_USER_LABELS}; ftx adds 2)")

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        check_user_tags(value, service="Vertex", service_max=MAX_LABELS, many="labels", key_noun="label")
        for key, item in value.items():
            if not _LABEL_KEY.match(key):
                raise ValueError(f"label key {key!r}: lowercase letters, digits, _ and -, starting with a letter, "
                                 "at most 63 characters")
            if not isinstance(item, str) or not _LABEL_VALUE.match(item):
                raise ValueError(f"label {key!r}: values are lowercase letters, digits, _ and -, at most 63 characters")
        return value

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        from .config import bucket_problem

        if value is not None and bucket_problem(value):
            raise ValueError(bucket_problem(value))
        return value
