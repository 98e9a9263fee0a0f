"""A real PEFT LoRA adapter of ftx's embedded tiny model, as a hosted service would hand one out
(the download tests land it and run ``ftx generate`` on it)."""

from __future__ import annotations

import json
from pathlib import Path


def tiny_lora_adapter(tmp_path_factory, folder: str = "") -> tuple[Path, Path]:
    """(the tiny model's folder, the adapter's folder, under ``folder`` when given): seeded,
    non-zero LoRA weights on q/v, ``base_model_name_or_path`` naming ``ftx/tiny-llama``."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from ftx.plugins.local.tiny_model import build_tiny_model

    base = tmp_path_factory.mktemp("tiny") / "model"
    base.mkdir()
    build_tiny_model(base)
    torch.manual_seed(0)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM",
                                      init_lora_weights=False))
    adapter = tmp_path_factory.mktemp("adapter")
    adapter = adapter / folder if folder else adapter
    model.save_pretrained(adapter)
    config = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": "ftx/tiny-llama"}))
    return base, adapter
