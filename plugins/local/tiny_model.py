"""The embedded tiny model ``ftx/tiny-llama``: built offline, deterministically, on first use.

A ~0.4M-parameter ``LlamaForCausalLM`` with seeded random weights and a byte-level BPE tokenizer
trained (with the ``tokenizers`` library) on the quickstart dataset, so the quickstart runs with
no network and no model hub. Its chat template marks assistant turns with
``{% generation %}`` so TRL can train on assistant tokens only.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from ftx.home import ftx_home

NAME = "ftx/tiny-llama"
VERSION = "tiny-llama-v2"  # bump when the config, corpus or template changes
SEED = 1234
VOCAB_SIZE = 1024

BOS, EOS, PAD = "<|bos|>", "<|end|>", "<|pad|>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>", "<|tool|>"]

# Every turn is "<|role|>\n" + content + "<|end|>\n"; the assistant's content and its <|end|> are
# what the model learns to produce (inside the generation markers), so generation stops at <|end|>.
CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{- '<|assistant|>\n' -}}"
    "{%- generation -%}{{- message['content'] + eos_token -}}{%- endgeneration -%}"
    "{{- '\n' -}}"
    "{%- else -%}"
    "{{- '<|' + message['role'] + '|>\n' + message['content'] + eos_token + '\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>\n' -}}{%- endif -%}"
)

# Small enough to train at 25+ optimizer steps/s on two CPU cores at batch 8. Every linear layer's
# width is a multiple of 64 (bitsandbytes' AVX-512 CPU kernels repack 4-bit weights in blocks of
# 32 output rows and quantize in blocks of 64), so QLoRA runs on every CPU; v1's 172 did not.
MODEL_CONFIG = dict(
    hidden_size=64,
    intermediate_size=192,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    max_position_embeddings=512,
    rms_norm_eps=1e-5,
    tie_word_embeddings=False,
    initializer_range=0.02,
)
# With the usual 0.02 init the random output head yields near-uniform logits that adapters on
# frozen weights (LoRA & co. never touch the head) cannot sharpen: the loss would barely move.
# A wider head gives logits a usable range, as a pretrained model's head has.
HEAD_STD = 0.3


def tiny_model_dir() -> Path:
    return ftx_home() / "models" / VERSION


def ensure_tiny_model() -> Path:
    """The built model's folder, building it first if it is not there yet.

    The build goes to a temporary folder that is renamed into place, so an interrupted build
    leaves nothing half-written and a concurrent build simply loses the race.
    """
    target = tiny_model_dir()
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{VERSION}.", dir=target.parent))
    try:
        build_tiny_model(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "config.json").is_file():  # not a lost race: a real failure
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def corpus_lines() -> Iterator[str]:
    """The tokenizer's training text: every message of the shipped quickstart dataset."""
    from ftx.recipe.shipped import shipped_dir

    path = shipped_dir() / "data" / "quickstart.jsonl"
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                for message in json.loads(line).get("messages", []):
                    yield message.get("content") or ""


def build_tokenizer():
    """A byte-level BPE ``PreTrainedTokenizerFast`` trained on :func:`corpus_lines`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [PAD, BOS, EOS, *ROLE_TOKENS]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    # Sorted, de-duplicated input keeps the merges independent of the dataset's line order.
    tok.train_from_iterator(sorted(set(corpus_lines())), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD,
        additional_special_tokens=ROLE_TOKENS, model_max_length=MODEL_CONFIG["max_position_embeddings"],
        padding_side="right")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_tiny_model(out: Path) -> None:
    """Write the tokenizer and the seeded random model to ``out``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, **MODEL_CONFIG)
    with torch.random.fork_rng(devices=[]):  # leave the caller's RNG state untouched
        torch.manual_seed(SEED)
        model = LlamaForCausalLM(config)
        torch.nn.init.normal_(model.lm_head.weight, mean=0.0, std=HEAD_STD)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.bos_token_id = tokenizer.bos_token_id
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
