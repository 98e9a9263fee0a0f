from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ftx.hosted.tags import check_user_tags, user_tag_limit

# OpenAI accepts 16 metadata pairs; ftx adds two (ftx_client_key, ftx_recipe).
MAX_METADATA = 16
MAX_USER_METADATA = user_tag_limit(MAX_METADATA)


class OpenAIOptions(BaseModel):
    """``backends.openai`` options."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first validated
    suffix: str | None = Field(None, min_length=1, max_length=64, description="added to the fine-tuned model's name")
    metadata: dict[str, str] = Field(default_factory=dict,
                                     description=f"job metadata (at most {MAX_USER_METADATA} pairs; ftx adds 2)")
    wandb_project: str | None = Field(None, description="report to Weights & Biases (needs the integration)")
    wandb_entity: str | None = Field(None, description="W&B team or user (default: the key's default entity)")
    organization: str | None = Field(None, description="OpenAI organization id (else OPENAI_ORG_ID)")
    project: str | None = Field(None, description="OpenAI project id (else OPENAI_PROJECT_ID)")

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str]) -> dict[str, str]:
        check_user_tags(value, service="OpenAI", service_max=MAX_METADATA, many="pairs", key_noun="key")
        for key, item in value.items():
            if len(key) > 64:
                raise ValueError(f"key {key[:20]!r}...: keys are at most 64 characters")
            if len(item) > 512:
                raise ValueError(f"value of {key!r}: values are at most 512 characters")
        return value


class AzureOpenAIOptions(OpenAIOptions):
    """``backends.azure-openai`` options; each also comes from the environment."""

    endpoint: str | None = Field(None, description="https://RESOURCE.openai.azure.com (else AZURE_OPENAI_ENDPOINT)")
    api_version: str | None = Field(None, description="API version (else OPENAI_API_VERSION)")
