"""QLoRA on a CPU keeps bitsandbytes' plain 4-bit weight layout. On a CPU with AVX-512 (bf16),
bitsandbytes (>= 0.49) repacks a 4-bit layer's weights in place at its first forward without
gradients, for a fused inference kernel; training then read the repacked weights as plain ones
(the sample answers before training are such a forward), so the trained adapter did not
reproduce on a reloaded base. The detection is faked here (``has_avx512bf16``, what
``Linear4bit`` reads when it is built), so the test runs on every CPU; on a real AVX-512 CPU
``test_local_train``'s QLoRA reload and ``test_export``'s QLoRA merge check the same end to end."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("bitsandbytes")


@pytest.fixture
def fake_avx512(monkeypatch):
    from bitsandbytes.nn import modules

    monkeypatch.setattr(modules, "has_avx512bf16", lambda: True)


def load_4bit(path):
    from ftx.components import get_method
    from ftx.plugins.local.models import load_model

    method = get_method("qlora")
    return load_model(str(path), "float32", "cpu", method.load_kwargs(method.params_model()(), {"device": "cpu"}))


def layers_4bit(model):
    return [m for m in model.modules() if type(m).__name__ == "Linear4bit"]


def test_inference_leaves_the_4bit_weights_as_training_reads_them(tiny_model_build, fake_avx512):
    import torch

    model = load_4bit(tiny_model_build)
    layers = layers_4bit(model)
    assert layers and not any(m.support_avx512bf16_for_cpu for m in layers)
    weights = [m.weight.data.clone() for m in layers]
    ids = torch.tensor([[1, 5, 9, 13, 17, 21]])
    model.eval()
    with torch.no_grad():
        first = model(input_ids=ids).logits
        model.generate(input_ids=ids, max_new_tokens=3, do_sample=False)  # what the sample answers run
    assert all(torch.equal(w, m.weight.data) for w, m in zip(weights, layers))
    assert not any(getattr(m.weight.quant_state, "packing_format_for_cpu", False) for m in layers)
    model.train()
    trained_view = model(input_ids=ids).logits.detach()  # a training forward, with gradients
    model.eval()
    with torch.no_grad():
        again = model(input_ids=ids).logits
    assert torch.equal(trained_view, first) and torch.equal(again, first)


def test_any_layer_width_loads_4bit_on_such_a_cpu(tiny_model_build, tmp_path, fake_avx512):
    """The repacking needed output widths divisible by 32; the plain layout takes any."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(tiny_model_build)
    config.intermediate_size = 172  # not a multiple of 32
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(tmp_path / "odd")
    (tmp_path / "odd" / "config.json").write_text(json.dumps({**json.loads(
        (tmp_path / "odd" / "config.json").read_text()), "intermediate_size": 172}))
    model = load_4bit(tmp_path / "odd")
    assert any(m.out_features == 172 for m in layers_4bit(model))
    model.eval()
    with torch.no_grad():
        out = model(input_ids=torch.tensor([[1, 2, 3]])).logits
    assert torch.isfinite(out).all()
