"""The embedded tiny model: built offline, deterministic, cached; its tokenizer and chat template;
the shipped quickstart data it is trained for; and model-name resolution."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from ftx.errors import BackendError

ROOT = Path(__file__).resolve().parents[2]


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_build_is_deterministic(tiny_model_build, tmp_path):
    from ftx.plugins.local.tiny_model import build_tiny_model

    again = tmp_path / "again"
    again.mkdir()
    build_tiny_model(again)
    assert digests(again) == digests(tiny_model_build)
    assert "model.safetensors" in digests(again)


def test_ensure_builds_once_then_reuses(ftx_home, monkeypatch):
    from ftx.plugins.local import tiny_model

    first = tiny_model.ensure_tiny_model()
    assert first == ftx_home / "models" / tiny_model.VERSION and (first / "config.json").is_file()
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]  # no temp folder left
    monkeypatch.setattr(tiny_model, "build_tiny_model", lambda out: pytest.fail("rebuilt a cached model"))
    assert tiny_model.ensure_tiny_model() == first


def test_a_failed_build_leaves_nothing_behind(ftx_home, monkeypatch):
    from ftx.plugins.local import tiny_model

    def broken(out: Path) -> None:
        (out / "config.json").write_text("{}")
        raise RuntimeError("disk full")

    monkeypatch.setattr(tiny_model, "build_tiny_model", broken)
    with pytest.raises(RuntimeError):
        tiny_model.ensure_tiny_model()
    assert list((ftx_home / "models").iterdir()) == []


def test_model_shape_and_tokenizer(tiny_model_build):
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(tiny_model_build)
    assert config.model_type == "llama" and config.hidden_size == 64 and config.num_hidden_layers == 2
    tok = AutoTokenizer.from_pretrained(tiny_model_build)
    assert (tok.bos_token, tok.eos_token, tok.pad_token) == ("<|bos|>", "<|end|>", "<|pad|>")
    assert len({tok.bos_token_id, tok.eos_token_id, tok.pad_token_id}) == 3
    assert 300 < len(tok) <= 2048 and config.vocab_size == len(tok)
    text = "Ünïcode ✓ and numbers 12345, never seen in the corpus"  # byte-level: nothing is unknown
    assert tok.decode(tok(text)["input_ids"]) == text
    assert len(tok("What sound does a cow make?")["input_ids"]) <= 8  # BPE learned the corpus words


def test_chat_template_marks_assistant_turns_and_adds_a_generation_prompt(tiny_model_build):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_build)
    assert "{%- generation -%}" in tok.chat_template
    messages = [{"role": "user", "content": "What does a cow say?"},
                {"role": "assistant", "content": "A cow says moo."}]
    out = tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = out["input_ids"], out["assistant_masks"]
    trained = tok.decode([i for i, m in zip(ids, mask) if m])
    assert trained == "A cow says moo.<|end|>"  # the answer and the stop token, nothing else
    prompt = tok.apply_chat_template(messages[:1], tokenize=False, add_generation_prompt=True)
    assert prompt == "<|bos|><|user|>\nWhat does a cow say?<|end|>\n<|assistant|>\n"


def test_quickstart_data_is_generated_deterministically(tmp_path):
    out = tmp_path / "q.jsonl"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_quickstart_data.py"), str(out)],
                   check=True, capture_output=True)
    shipped = ROOT / "recipes" / "data" / "quickstart.jsonl"
    assert out.read_bytes() == shipped.read_bytes()
    assert shipped.stat().st_size < 200_000


def test_quickstart_data_reads_as_valid_chat_examples():
    from ftx.data.load import iter_parsed

    parsed = list(iter_parsed(str(ROOT / "recipes" / "data" / "quickstart.jsonl")))
    assert len(parsed) >= 200 and all(p.example is not None for p in parsed)
    assert {p.example.kind for p in parsed} == {"chat"}
    prompts = [p.example.messages[0].content for p in parsed]
    assert len(set(prompts)) == len(prompts)  # no duplicate questions to leak across the split


def test_model_names_resolve(tiny_model, tmp_path):
    from ftx.plugins.local.models import resolve_model

    assert resolve_model("ftx/tiny-llama") == str(tiny_model)
    assert resolve_model(str(tmp_path)) == str(tmp_path.resolve())
    assert resolve_model("Qwen/Qwen2.5-0.5B") == "Qwen/Qwen2.5-0.5B"  # a hub id, handed to from_pretrained


def test_an_uncached_hub_model_offline_is_a_clear_error(monkeypatch):
    from ftx.plugins.local import models

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(models, "hub_offline", lambda: True)
    with pytest.raises(BackendError, match="not in the local Hugging Face cache and hub access is off"):
        models.load_tokenizer("ftx-test-org/no-such-model-anywhere")
