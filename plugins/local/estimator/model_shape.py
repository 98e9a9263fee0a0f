"""How big a local model is: parameters, hidden size, layers, vocabulary.

Found, in order, from (1) a ``config.json`` on this machine: the recipe's model as a folder,
ftx's embedded tiny model, or the Hugging Face cache; (2) the table of known models in
``models.yaml``; (3) a size in the name ("8B", "135M"), with the layer shape borrowed from the
known model closest in size. Reads JSON and YAML only: no torch, no transformers.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftx.cost.catalog import package_yaml

KNOWN_FILE = Path(__file__).with_name("models.yaml")
TINY = "ftx/tiny-llama"
_SUFFIXES = ("-instruct", "-it", "-chat", "-hf", "-base")


@dataclass
class ModelShape:
    name: str
    params: int  # every parameter (experts included)
    hidden: int
    layers: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int
    head_dim: int
    tied: bool
    source: str  # where the shape came from, for the assumptions under the table
    path: Path | None = None  # local folder (tokenizer.json lives there)
    experts: int = 1
    active_experts: int = 1

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def block_linear_params(self) -> int:
        """Parameters of the linear layers inside the transformer blocks: what bitsandbytes
        quantizes to 4 bits for QLoRA (embeddings, lm_head and norms stay 16-bit)."""
        attn = 2 * self.hidden * self.heads * self.head_dim + 2 * self.hidden * self.kv_heads * self.head_dim
        return self.layers * (attn + 3 * self.hidden * self.intermediate * self.experts)

    @property
    def compute_params(self) -> int:
        """Parameters a token's forward pass multiplies by: every weight except the embedding
        lookup (which is free) and the experts a token does not visit; a tied lm_head counts."""
        inactive = self.layers * 3 * self.hidden * self.intermediate * (self.experts - self.active_experts)
        lookup = 0 if self.tied else self.embedding_params
        return self.params - lookup - inactive


def count_params(hidden: int, layers: int, intermediate: int, vocab: int, heads: int, kv_heads: int,
                 head_dim: int, tied: bool, experts: int = 1, qkv_bias: bool = False) -> int:
    """Parameters of a Llama-style decoder: embeddings, attention (grouped KV heads), SwiGLU MLP
    (three matrices), two RMSNorms per block and a final one, and an untied lm_head."""
    attn = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
    if qkv_bias:
        attn += heads * head_dim + 2 * kv_heads * head_dim
    block = attn + 3 * hidden * intermediate * experts + 2 * hidden
    return vocab * hidden * (1 if tied else 2) + layers * block + hidden


def normalize(name: str) -> str:
    """``meta-llama/Llama-3.1-8B-Instruct`` -> ``llama-3.1-8b`` (the models.yaml key form)."""
    base = name.strip().rstrip("/").split("/")[-1].lower()
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if base.endswith(suffix):
                base, changed = base[: -len(suffix)], True
    return base


def _from_config(cfg: dict[str, Any], name: str, source: str, path: Path | None) -> ModelShape:
    cfg = {**cfg, **(cfg.get("text_config") or {})}  # multimodal configs nest the decoder
    hidden = int(cfg.get("hidden_size") or cfg.get("n_embd") or cfg.get("d_model"))
    layers = int(cfg.get("num_hidden_layers") or cfg.get("n_layer") or cfg.get("num_layers"))
    heads = int(cfg.get("num_attention_heads") or cfg.get("n_head") or max(1, hidden // 64))
    kv_heads = int(cfg.get("num_key_value_heads") or heads)
    head_dim = int(cfg.get("head_dim") or hidden // heads)
    experts = int(cfg.get("num_local_experts") or cfg.get("num_experts") or 1)
    intermediate = int(cfg.get("moe_intermediate_size") if experts > 1 and cfg.get("moe_intermediate_size")
                       else cfg.get("intermediate_size") or cfg.get("n_inner") or 4 * hidden)
    vocab = int(cfg.get("vocab_size") or 32000)
    model_type = str(cfg.get("model_type", ""))
    # PretrainedConfig defaults to tied embeddings; the Llama/Mistral/Qwen2 configs do not.
    tied = bool(cfg.get("tie_word_embeddings", model_type not in {"llama", "mistral", "qwen2", "mixtral"}))
    bias = bool(cfg.get("attention_bias", model_type == "qwen2"))
    params = count_params(hidden, layers, intermediate, vocab, heads, kv_heads, head_dim, tied, experts, bias)
    active = int(cfg.get("num_experts_per_tok") or 1) if experts > 1 else 1
    return ModelShape(name, params, hidden, layers, intermediate, vocab, heads, kv_heads, head_dim,
                      tied, source, path, experts, active)


def hf_cache_dirs() -> list[Path]:
    """Where the Hugging Face hub caches models, without importing huggingface_hub."""
    out = []
    if os.environ.get("HF_HUB_CACHE"):
        out.append(Path(os.environ["HF_HUB_CACHE"]))
    if os.environ.get("HF_HOME"):
        out.append(Path(os.environ["HF_HOME"]) / "hub")
    out.append(Path.home() / ".cache" / "huggingface" / "hub")
    return [p.expanduser() for p in out]


def _cached_snapshot(name: str) -> Path | None:
    if name.count("/") != 1:
        return None
    for cache in hf_cache_dirs():
        repo = cache / f"models--{name.replace('/', '--')}"
        ref = repo / "refs" / "main"
        snaps = repo / "snapshots"
        if ref.is_file() and (snaps / ref.read_text().strip() / "config.json").is_file():
            return snaps / ref.read_text().strip()
        found = sorted(snaps.glob("*/config.json")) if snaps.is_dir() else []
        if found:
            return found[-1].parent
    return None


def local_model_dir(model: str, base_dir: Path | None = None) -> Path | None:
    """The folder holding ``model``'s config.json on this machine, if there is one."""
    if model == TINY:
        from ..tiny_model import tiny_model_dir  # light: no torch at import

        folder = tiny_model_dir()
        return folder if (folder / "config.json").is_file() else None
    for candidate in (Path(model).expanduser(), (base_dir or Path.cwd()) / model):
        if (candidate / "config.json").is_file():
            return candidate
    return _cached_snapshot(model)


def _tiny_shape() -> ModelShape:
    """ftx's embedded tiny model before it has been built: its shape is in the code."""
    from ..tiny_model import MODEL_CONFIG, VOCAB_SIZE

    cfg = {**MODEL_CONFIG, "vocab_size": VOCAB_SIZE, "model_type": "llama"}
    return _from_config(cfg, TINY, "ftx's tiny model definition", None)


def _known(key: str) -> dict[str, Any] | None:
    table = package_yaml(KNOWN_FILE)
    return table.get(key)


def _shape_from_known(name: str, row: dict[str, Any], source: str) -> ModelShape:
    cfg = {"hidden_size": row["hidden"], "num_hidden_layers": row["layers"],
           "intermediate_size": row["intermediate"], "vocab_size": row["vocab"],
           "num_attention_heads": row["heads"], "num_key_value_heads": row["kv_heads"],
           "head_dim": row.get("head_dim"), "tie_word_embeddings": row["tied"], "model_type": "llama"}
    shape = _from_config(cfg, name, source, None)
    if row.get("params"):
        shape.params = int(row["params"])  # the published count (biases, extra norms included)
    return shape


_SIZE = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)([bm])(?![a-z0-9])")


def params_from_name(name: str) -> int | None:
    """``Qwen3-4B`` -> 4e9, ``SmolLM2-135M-Instruct`` -> 135e6; None when the name says no size."""
    sizes = [float(n) * (1e9 if unit == "b" else 1e6) for n, unit in _SIZE.findall(normalize(name).replace("_", "-"))]
    return int(sizes[-1]) if sizes else None


def resolve_shape(model: str, base_dir: Path | None = None) -> ModelShape | None:
    """The shape of ``model``, or None when neither a config, the table nor the name tells."""
    folder = local_model_dir(model, base_dir)
    if folder is not None:
        cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        return _from_config(cfg, model, f"config.json in {folder}", folder)
    if model == TINY:
        return _tiny_shape()
    key = normalize(model)
    row = _known(key)
    if row:
        return _shape_from_known(model, row, "ftx's table of known models")
    params = params_from_name(model)
    if params is None:
        return None
    table = package_yaml(KNOWN_FILE)
    nearest = min(table, key=lambda k: abs(math.log(table[k]["params"] / params)))
    shape = _shape_from_known(model, table[nearest], "")
    shape.params = params
    shape.source = f"size from the name ({params / 1e9:g}B), layer shape of {nearest}"
    return shape
