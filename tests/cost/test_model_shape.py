"""Model sizes for local estimates: config.json, the known-model table, the name."""

from __future__ import annotations

import json

import pytest

from ftx.cost.catalog import package_yaml
from ftx.plugins.local.estimator.model_shape import (KNOWN_FILE, count_params, normalize, params_from_name, resolve_shape)

LLAMA_8B = {"model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32, "intermediate_size": 14336,
            "vocab_size": 128256, "num_attention_heads": 32, "num_key_value_heads": 8,
            "tie_word_embeddings": False}


@pytest.mark.parametrize("key", sorted(package_yaml(KNOWN_FILE)))
def test_parameter_formula_reproduces_published_counts(key):
    row = package_yaml(KNOWN_FILE)[key]
    n = count_params(row["hidden"], row["layers"], row["intermediate"], row["vocab"], row["heads"],
                     row["kv_heads"], row.get("head_dim") or row["hidden"] // row["heads"], row["tied"])
    assert abs(n / row["params"] - 1) < 1e-3, (key, n, row["params"])


def test_config_json_in_a_local_folder_is_read(tmp_path):
    model = tmp_path / "my-model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps(LLAMA_8B))
    shape = resolve_shape(str(model))
    assert shape.params == 8_030_261_248
    assert (shape.hidden, shape.layers, shape.vocab, shape.kv_heads, shape.head_dim) == (4096, 32, 128256, 8, 128)
    assert shape.path == model and "config.json" in shape.source
    # untied: the embedding lookup does no FLOPs, the lm_head does
    assert shape.compute_params == shape.params - 128256 * 4096
    assert shape.block_linear_params == 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336)


def test_relative_model_folder_resolves_against_the_recipe_folder(tmp_path):
    (tmp_path / "models" / "m").mkdir(parents=True)
    (tmp_path / "models" / "m" / "config.json").write_text(json.dumps(LLAMA_8B))
    assert resolve_shape("models/m", base_dir=tmp_path).params == 8_030_261_248


def test_hugging_face_cache_is_found_without_huggingface_hub(tmp_path, monkeypatch):
    snap = tmp_path / "hub" / "models--acme--tiny-7b" / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    (snap / "config.json").write_text(json.dumps({**LLAMA_8B, "num_hidden_layers": 2}))
    (tmp_path / "hub" / "models--acme--tiny-7b" / "refs").mkdir()
    (tmp_path / "hub" / "models--acme--tiny-7b" / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    shape = resolve_shape("acme/tiny-7b")
    assert shape.layers == 2 and shape.path == snap  # the config wins over the "7b" in the name


def test_known_model_names_match_without_org_or_instruct_suffix():
    assert normalize("meta-llama/Llama-3.1-8B-Instruct") == "llama-3.1-8b"
    assert normalize("google/gemma-2-2b-it") == "gemma-2-2b"
    shape = resolve_shape("Qwen/Qwen2.5-0.5B-Instruct")
    assert shape.params == 494_032_768 and shape.tied and "table" in shape.source


def test_size_from_the_name_borrows_the_nearest_known_shape():
    assert params_from_name("Qwen/Qwen3-4B") == 4_000_000_000
    assert params_from_name("HuggingFaceTB/SmolLM2-135M-Instruct") == 135_000_000
    assert params_from_name("acme/model-0.5B") == 500_000_000
    assert params_from_name("gpt2") is None and params_from_name("mixtral-8x7b") is None
    shape = resolve_shape("acme/whatever-13b")
    assert shape.params == 13_000_000_000
    assert "name" in shape.source and "qwen2.5-14b" in shape.source


def test_unknown_model_has_no_shape():
    assert resolve_shape("acme/mystery-model") is None


def test_tiny_model_shape_comes_from_its_definition_when_not_built():
    from ftx.plugins.local.tiny_model import MODEL_CONFIG, VOCAB_SIZE

    shape = resolve_shape("ftx/tiny-llama")
    h, i, layers = MODEL_CONFIG["hidden_size"], MODEL_CONFIG["intermediate_size"], MODEL_CONFIG["num_hidden_layers"]
    assert shape.params == 2 * VOCAB_SIZE * h + layers * (4 * h * h + 3 * h * i + 2 * h) + h
