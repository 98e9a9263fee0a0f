"""Parameters of the built-in methods, with the defaults of fine-tuning practice."""

from __future__ import annotations

from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)  # built when first validated


class FullParams(_Params):
    pass


class LoraParams(_Params):
    r: int = Field(16, ge=1, le=1024, description="adapter rank")
    alpha: int = Field(32, ge=1, description="scaling numerator (alpha / r); practice: 2 x r")
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: Union[Literal["all-linear"], list[str]] = Field(
        "all-linear", description="modules to adapt: all-linear or a list of module names")
    bias: Literal["none", "all", "lora_only"] = "none"
    use_rslora: bool = False


class QloraParams(LoraParams):
    quant_type: Literal["nf4", "fp4"] = "nf4"
    double_quant: bool = True
    compute_dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="auto: bfloat16 on CUDA, float32 on CPU")


class VirtualTokenParams(_Params):
    num_virtual_tokens: int = Field(20, ge=1, le=512)


class PrefixParams(VirtualTokenParams):
    prefix_projection: bool = False


class PromptParams(VirtualTokenParams):
    init: Literal["random", "text"] = "random"
    init_text: str | None = Field(None, description="text whose tokens initialise the prompt (init: text)")


class Ia3Params(_Params):
    target_modules: Union[Literal["auto"], list[str]] = Field(
        "auto", description="auto: attention key/value and feed-forward down projections")
    feedforward_modules: Union[Literal["auto"], list[str]] = "auto"
