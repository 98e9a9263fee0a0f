"""Token counters: characters, OpenAI encodings via bpe-openai (checked against tiktoken), HF."""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import random
import sys
from pathlib import Path

import pytest

from ftx.errors import FtxError
from ftx.data.tokens import encoding_for_model, get_counter

CORPUS = [
    "", " ", "  ", "\n", "\n\n\n", "   \n  \t x", "Hello, world!", "I'm you're they'll WE'VE He'S",
    "1234567890 3.14159 -42 1e10 0x1F 1,000,000.00", "ünïcödé naïve café Straße", "你好，世界！这是一个测试。",
    "こんにちは世界", "مرحبا بالعالم", "Привет мир", "emoji 😀👍🏽👨‍👩‍👧 done", "ab\u0301c e\u0301 \u200b\u200d",
    "def f(x):\n    return x ** 2\n\n\nclass A:\n\tpass\n", "    leading spaces", "trailing spaces    ",
    "a  b   c    d     e", "tab\t\tsep\tvalues", "\r\nwindows\r\nlines\r\n", "<|endoftext|> literal",
    "https://example.com/path?q=1&r=2#frag", '{"json": [1, 2, 3], "k": null}', "SELECT * FROM t WHERE x >= 10;",
    "CamelCaseWordsAndALLCAPS mixedCASEtest", "x" * 500, " " * 300 + "y", "$ € £ ¥ ₹ — … «»",
]
URL = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"
# The SHA-256 tiktoken itself pins for OpenAI's published rank files (tiktoken_ext/openai_public.py).
OPENAI_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
# Found without importing bpe_openai (its __init__ parses every rank file, ~1 s).
BPE_DATA = Path(importlib.util.find_spec("bpe_openai").submodule_search_locations[0]) / "data"


def _corpus() -> list[str]:
    rng = random.Random(0)
    alphabet = "abc XYZ 123 \n\t.,!?'\"-_/\\ü你😀  \r'sll"
    fuzz = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(150)]
    return CORPUS + fuzz


def test_chars_is_the_default():
    counter = get_counter(None)
    assert (counter.name, counter.unit) == ("chars", "characters")
    assert counter.count("héllo 你好") == 8
    assert counter.count_many(["ab", "", "abc"]) == [2, 0, 3]
    assert get_counter("chars") is counter  # cached


@pytest.mark.parametrize("model, encoding", [
    ("gpt-4o", "o200k_base"), ("gpt-4o-mini-2024-07-18", "o200k_base"), ("gpt-4.1-mini-2025-04-14", "o200k_base"),
    ("o1", "o200k_base"), ("o3-mini", "o200k_base"), ("o4-mini-2025-04-16", "o200k_base"),
    ("ft:gpt-4o-mini-2024-07-18:acme::9abc", "o200k_base"), ("GPT-4O", "o200k_base"),
    ("gpt-4", "cl100k_base"), ("gpt-4-0613", "cl100k_base"), ("gpt-3.5-turbo-0125", "cl100k_base"),
    ("ft:gpt-3.5-turbo-0125:acme::x", "cl100k_base"), ("cl100k_base", "cl100k_base"),
    ("llama-3-8b", None), ("gemini-2.0-flash", None),
])
def test_model_names_map_to_encodings(model, encoding):
    assert encoding_for_model(model) == encoding


def test_unknown_spec_is_a_user_error():
    with pytest.raises(FtxError) as err:
        get_counter("llama-3-8b")
    assert "unknown tokenizer" in str(err.value)
    assert "o200k_base" in err.value.hint


@pytest.fixture(scope="module")
def tiktoken_offline(tmp_path_factory):
    """tiktoken with its cache primed from the rank files bpe-openai ships, network forbidden.

    tiktoken verifies each cached file against OpenAI's SHA-256 before use, so this also proves
    bpe-openai ships OpenAI's exact files."""
    tiktoken = pytest.importorskip("tiktoken")
    import tiktoken.load

    cache = tmp_path_factory.mktemp("tiktoken-cache")
    for name, digest in OPENAI_SHA256.items():
        data = gzip.decompress((BPE_DATA / f"{name}.tiktoken.gz").read_bytes())
        assert hashlib.sha256(data).hexdigest() == digest
        (cache / hashlib.sha1(URL.format(name).encode()).hexdigest()).write_bytes(data)
    mp = pytest.MonkeyPatch()
    mp.setenv("TIKTOKEN_CACHE_DIR", str(cache))

    def no_network(blobpath):
        raise AssertionError(f"tiktoken tried to download {blobpath}")

    mp.setattr(tiktoken.load, "read_file", no_network)
    yield tiktoken
    mp.undo()


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_bpe_openai_counts_equal_tiktoken(tiktoken_offline, encoding):
    reference = tiktoken_offline.get_encoding(encoding)
    counter = get_counter(encoding)
    assert (counter.name, counter.unit) == (encoding, "tokens")
    corpus = _corpus()
    expected = [len(reference.encode(text, disallowed_special=())) for text in corpus]
    assert [counter.count(text) for text in corpus] == expected
    assert counter.count_many(corpus) == expected
    assert sum(expected) > 1000  # the corpus is not trivially empty


def test_model_counter_uses_its_encoding():
    assert get_counter("gpt-4o-mini").name == "o200k_base"
    assert get_counter("gpt-3.5-turbo").name == "cl100k_base"
    text = "The quick brown fox 🦊 jumps over 12345 lazy dogs."
    assert get_counter("gpt-4o-mini").count(text) == get_counter("o200k_base").count(text)


def test_hf_tokenizer_from_a_local_directory(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers import models, pre_tokenizers

    vocab = {"[UNK]": 0, "hello": 1, "world": 2, "!": 3}
    tok = tokenizers.Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    for spec in (f"hf:{tmp_path}", str(tmp_path)):
        counter = get_counter(spec)
        assert counter.unit == "tokens" and counter.name == f"hf:{tmp_path}"
        assert counter.count("hello world !") == 3
        assert counter.count("hello unknown words") == 3
        assert counter.count_many(["hello", "", "world world"]) == [1, 0, 2]


def test_hf_tokenizer_missing_is_a_user_error(tmp_path):
    with pytest.raises(FtxError) as err:
        get_counter(f"hf:{tmp_path / 'nowhere'}")
    assert "the path does not exist" in str(err.value)


class _FakeAutoTokenizer:
    """Stands in for transformers.AutoTokenizer (importing transformers takes seconds)."""

    calls: list = []

    @classmethod
    def from_pretrained(cls, ref, local_files_only=False):
        cls.calls.append((ref, local_files_only))
        if "missing" in ref:
            raise OSError(f"{ref} is not in the cache and outgoing traffic has been disabled")
        return lambda texts, add_special_tokens=True: {
            "input_ids": [t.split() for t in texts] if isinstance(texts, list) else texts.split()}


def test_hub_names_load_through_transformers_offline(monkeypatch):
    import types

    monkeypatch.setitem(sys.modules, "transformers", types.SimpleNamespace(AutoTokenizer=_FakeAutoTokenizer))
    counter = get_counter("hf:acme/tiny-model")
    assert counter.count("one two three") == 3 and counter.count_many(["a b", "c"]) == [2, 1]
    with pytest.raises(FtxError) as err:
        get_counter("hf:acme/missing-model")
    assert "cannot load a tokenizer from 'acme/missing-model' offline" in str(err.value)
    assert _FakeAutoTokenizer.calls == [("acme/tiny-model", True), ("acme/missing-model", True)]
