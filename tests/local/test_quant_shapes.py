"""QLoRA's shape check against bitsandbytes' AVX-512 CPU path, on any CPU: the detection is faked
(``bitsandbytes.nn.modules.has_avx512bf16``, what ``Linear4bit`` consults), and the tiny model's
quantized layers go through bitsandbytes' own (pure torch) repacking function."""

from __future__ import annotations

import json

import pytest

from ftx.errors import BackendError

pytest.importorskip("bitsandbytes")


@pytest.fixture
def fake_avx512(monkeypatch):
    from bitsandbytes.nn import modules

    monkeypatch.setattr(modules, "has_avx512bf16", lambda: True)


def odd_model(tiny_model_build, tmp_path):
    """The tiny model's config with v1's feed-forward width (172: not a multiple of 32)."""
    config = json.loads((tiny_model_build / "config.json").read_text())
    config["intermediate_size"] = 172
    folder = tmp_path / "odd"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def test_every_tiny_model_layer_is_kernel_friendly(tiny_model_build):
    from ftx.plugins.local.tiny_model import MODEL_CONFIG
    from ftx.plugins.methods.quant_shapes import quantized_linear_shapes, unpackable_layers

    shapes = quantized_linear_shapes(str(tiny_model_build))
    assert len(shapes) == 7 * MODEL_CONFIG["num_hidden_layers"]
    assert unpackable_layers(shapes) == []
    assert all(out % 64 == 0 and inp % 64 == 0 for _, out, inp in shapes)


def test_the_tiny_models_4bit_weights_repack_for_the_avx512_kernel(tiny_model_build):
    """bitsandbytes' own repacking (what an AVX-512 CPU runs at the first evaluation) accepts every
    quantized layer of the tiny model; the check's rule agrees with it on a bad width."""
    import torch
    from bitsandbytes import functional as F

    from ftx.plugins.methods.quant_shapes import quantized_linear_shapes, unpackable_layers

    for name, out, inp in quantized_linear_shapes(str(tiny_model_build)):
        q, state = F.quantize_4bit(torch.randn(out, inp), quant_type="nf4")
        F._convert_weight_packed_for_cpu(q, state)  # raises AssertionError on a bad shape
    q, state = F.quantize_4bit(torch.randn(172, 64), quant_type="nf4")
    with pytest.raises(AssertionError, match="block_n"):
        F._convert_weight_packed_for_cpu(q, state)
    assert unpackable_layers([("x", 172, 64)]) == ["x (172x64)"]


def test_avx512_cpu_refuses_an_unfriendly_model_in_one_line(tiny_model_build, tmp_path, fake_avx512):
    from ftx.plugins.methods.quant_shapes import check_4bit_shapes

    folder = odd_model(tiny_model_build, tmp_path)
    with pytest.raises(BackendError) as info:
        check_4bit_shapes(str(folder), "cpu")
    message = str(info.value)
    assert "\n" not in message and "AVX-512" in message and "gate_proj (172x64)" in message
    assert info.value.problems[0].field == "method"
    check_4bit_shapes(str(tiny_model_build), "cpu")  # the shipped tiny model passes
    check_4bit_shapes(str(folder), "cuda")  # no such constraint on a GPU


def test_without_avx512_the_same_model_is_not_refused(tiny_model_build, tmp_path, monkeypatch):
    from bitsandbytes.nn import modules

    from ftx.plugins.methods.quant_shapes import check_4bit_shapes, cpu_repacks_4bit

    monkeypatch.setattr(modules, "has_avx512bf16", lambda: False)
    assert not cpu_repacks_4bit()
    check_4bit_shapes(str(odd_model(tiny_model_build, tmp_path)), "cpu")


def test_qlora_load_kwargs_runs_the_check(tiny_model_build, tmp_path, fake_avx512):
    from ftx.plugins.methods.catalog import Qlora
    from ftx.plugins.methods.params import QloraParams

    method = Qlora()
    with pytest.raises(BackendError, match="qlora"):
        method.load_kwargs(QloraParams(), {"device": "cpu", "model_path": str(odd_model(tiny_model_build, tmp_path))})
    assert "quantization_config" in method.load_kwargs(
        QloraParams(), {"device": "cpu", "model_path": str(tiny_model_build)})
