"""Token counters: characters, OpenAI encodings (offline, via bpe-openai) and Hugging Face tokenizers.

``get_counter(spec)`` accepts:

- ``None`` / ``"chars"``: counts characters (no tokenizer needed; the unit says so);
- ``"o200k_base"``, ``"cl100k_base"`` or an OpenAI model name (``gpt-4o-mini``, ``gpt-4.1``,
  ``o3-mini``, ``gpt-3.5-turbo``, ``ft:gpt-4o-mini-2024-07-18:org::id`` ...): the model's BPE
  encoding through the ``bpe-openai`` package, which ships OpenAI's rank files so nothing is
  downloaded (``tiktoken`` fetches them at run time and fails offline). Its token ids are
  identical to tiktoken's (tests/data/test_tokens.py checks this on a varied corpus);
- ``"hf:PATH"`` or an existing local directory: a Hugging Face tokenizer loaded offline.

Heavy libraries are imported only when a counter that needs them is built.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Protocol

from ..errors import FtxError

if TYPE_CHECKING:  # pragma: no cover
    from ..example import Message

ENCODINGS = ("o200k_base", "cl100k_base")

# Exact OpenAI model names, then prefixes, mirroring tiktoken's own table (tiktoken/model.py).
# gpt-oss uses o200k_harmony, which only adds special tokens to o200k_base: ordinary text
# tokenizes identically, so o200k_base counts it exactly.
_MODEL_TO_ENCODING = {
    "gpt-4": "cl100k_base", "gpt-3.5": "cl100k_base", "gpt-3.5-turbo": "cl100k_base",
    "gpt-35-turbo": "cl100k_base", "davinci-002": "cl100k_base", "babbage-002": "cl100k_base",
    "o1": "o200k_base", "o3": "o200k_base", "o4-mini": "o200k_base",
}
_PREFIX_TO_ENCODING = (
    ("gpt-4o", "o200k_base"), ("chatgpt-4o", "o200k_base"), ("gpt-4.1", "o200k_base"),
    ("gpt-4.5", "o200k_base"), ("gpt-5", "o200k_base"), ("gpt-oss", "o200k_base"),
    ("o1-", "o200k_base"), ("o3-", "o200k_base"), ("o4-", "o200k_base"),
    ("gpt-4-", "cl100k_base"), ("gpt-3.5-", "cl100k_base"), ("gpt-35-", "cl100k_base"),
)

class TokenCounter(Protocol):
    """Counts the length of a text in its ``unit``."""

    name: str
    unit: str  # "tokens" or "characters"

    def count(self, text: str) -> int: ...

    def count_many(self, texts: list[str]) -> list[int]: ...


class CharCounter:
    """Counts characters: the fallback when no tokenizer is named (lengths say so)."""

    name = "chars"
    unit = "characters"

    def count(self, text: str) -> int:
        return len(text)

    def count_many(self, texts: list[str]) -> list[int]:
        return [len(t) for t in texts]


class _Memo:
    """Counts remembered per text, so one command counts each text once however many of its
    steps ask (data stats, the provider's checks, the estimate, the launch). The texts are the
    examples' own strings, already in memory; the memo adds one entry per distinct text, up to
    ``FTX_TOKEN_MEMO`` entries (default 4,000,000; 0 turns it off), then counts without
    remembering."""

    def __init__(self) -> None:
        self._memo: dict[str, int] = {}
        try:
            self._room = int(os.environ.get("FTX_TOKEN_MEMO", "4000000"))
        except ValueError:
            self._room = 4_000_000

    def _remembered(self, text: str, count) -> int:
        n = self._memo.get(text)
        if n is None:
            n = count(text)
            if len(self._memo) < self._room:
                self._memo[text] = n
        return n


class OpenAICounter(_Memo):
    """An OpenAI BPE encoding (o200k_base, cl100k_base) counted by bpe-openai's Rust core.

    Building the native tokenizer costs ~40 ms, more than counting a small data set: it is built
    on the first text that neither this command nor an earlier one counted (the counts kept in
    ``ftx.data.token_store``, keyed by each text's digest)."""

    unit = "tokens"

    def __init__(self, encoding: str):
        super().__init__()
        self.name = encoding
        self._native = None
        from .token_store import store_for

        self._store = store_for(encoding, _native_stamp())
        if self._store is None:  # no stored counts possible here: build it now, as before
            self._native = _bpe_count_function(encoding)

    def _count(self, text: str) -> int:
        store = self._store
        if store is not None:
            n = store.get(text)
            if n is not None:
                return n
        if self._native is None:
            self._native = _bpe_count_function(self.name)
        n = self._native(text)
        if store is not None:
            store.put(text, n)
        return n

    def count(self, text: str) -> int:
        if not text:
            return 0
        n = self._memo.get(text)  # inline: a command asks ~10 times per text, mostly answered here
        return n if n is not None else self._remembered(text, self._count)

    def count_many(self, texts: list[str]) -> list[int]:
        count = self.count
        return [count(t) for t in texts]

    def count_all(self, texts: Iterable[str]) -> None:
        """Count, in one pass, each of ``texts`` not counted yet, so that the questions that
        follow (the statistics, the provider's checks, the estimate) are answered from the memo.
        The counts are the tokenizer's, as :meth:`count` gives them. More new texts than the token
        store keeps are counted straight by the native tokenizer (the store would stop asking
        at that many anyway); fewer go through :meth:`count`, store and all."""
        fresh = self.fresh_texts(texts)
        if fresh is not None:
            self.remember(fresh, map(self._native, fresh))

    def fresh_texts(self, texts: Iterable[str]) -> list[str] | None:
        """The distinct texts of ``texts`` not counted yet, in their first order, when there are
        more than the token store keeps: then the store is given up and the native tokenizer
        built, for the caller to count them straight (:meth:`native`, :meth:`remember`; split
        between two processes by ``ftx.data.token_share``). Cut to what the memo has room for
        (past ``FTX_TOKEN_MEMO`` a text is counted when asked). ``None`` when there are fewer:
        those are counted here, through :meth:`count` and the store."""
        from .token_store import MAX_ENTRIES

        memo = self._memo
        distinct = dict.fromkeys(texts)
        distinct.pop("", None)  # blank texts count 0 (as in count), as does a missing one
        distinct.pop(None, None)
        if len(memo) < len(distinct):  # drop the counted ones, one pop each (cheaper than a filter)
            for text in memo:
                distinct.pop(text, None)
            fresh = list(distinct)
        else:
            fresh = [t for t in distinct if t not in memo]
        if len(fresh) <= MAX_ENTRIES:
            for text in fresh:
                self._remembered(text, self._count)
            return None
        if self._store is not None:
            self._store.give_up()
        self.native()
        return fresh[:max(0, self._room - len(memo))]

    def native(self):
        """The native tokenizer's count function (built on first use)."""
        if self._native is None:
            self._native = _bpe_count_function(self.name)
        return self._native

    def remember(self, texts: list[str], counts: Iterable[int]) -> None:
        """Keep ``counts`` (the native tokenizer's, of ``texts`` from :meth:`fresh_texts`)."""
        self._memo.update(zip(texts, counts))


class HFCounter(_Memo):
    """A Hugging Face tokenizer loaded from a local path (or the offline hub cache)."""

    unit = "tokens"

    def __init__(self, ref: str):
        super().__init__()
        self.name = f"hf:{ref}"
        self._encode_batch, self._encode = _load_hf(ref)

    def count(self, text: str) -> int:
        return self._remembered(text, self._encode) if text else 0

    def count_many(self, texts: list[str]) -> list[int]:
        missing = [t for t in dict.fromkeys(texts) if t and t not in self._memo]
        fresh = dict(zip(missing, self._encode_batch(missing))) if missing else {}
        for text, n in fresh.items():
            if len(self._memo) < self._room:
                self._memo[text] = n
        return [0 if not t else fresh[t] if t in fresh else self._memo[t] for t in texts]


def encoding_for_model(model: str) -> str | None:
    """The OpenAI encoding a model name uses, or None when the name is not an OpenAI model."""
    name = model.strip().lower()
    if name.startswith("ft:"):  # ft:BASE:org:suffix:id -> BASE
        name = name[3:].split(":", 1)[0]
    if name in ENCODINGS:
        return name
    if name == "o200k_harmony":
        return "o200k_base"
    if name in _MODEL_TO_ENCODING:
        return _MODEL_TO_ENCODING[name]
    for prefix, encoding in _PREFIX_TO_ENCODING:
        if name.startswith(prefix):
            return encoding
    return None


def get_counter(spec: str | None = None) -> TokenCounter:
    """Return the counter that ``spec`` names (see the module docstring). Cached per spec.

    Raises :class:`FtxError` for a spec that names nothing known, or a tokenizer that cannot be
    loaded offline."""
    key = (spec or "chars").strip()
    if not key.startswith("hf:") and key.lower() not in ("chars", "characters", "char"):
        # One counter (and one memo) per encoding, however it is named: the data plan asks for
        # the model's counter, the provider's checks and the estimate for its encoding.
        key = encoding_for_model(key) or key
    return _cached_counter(key)


@functools.lru_cache(maxsize=16)
def _cached_counter(spec: str) -> TokenCounter:
    if spec.lower() in ("chars", "characters", "char"):
        return CharCounter()
    if spec.startswith("hf:"):
        return HFCounter(spec[3:])
    encoding = encoding_for_model(spec)
    if encoding is not None:
        return OpenAICounter(encoding)
    if os.path.isdir(spec) or (spec.endswith(".json") and os.path.isfile(spec)):
        return HFCounter(spec)
    raise FtxError(
        f"unknown tokenizer {spec!r}", field="tokenizer",
        hint="use chars, o200k_base, cl100k_base, an OpenAI model name (gpt-4o-mini, gpt-4.1, "
             "gpt-3.5-turbo ...), hf:PATH or a local tokenizer directory")


def _bpe_count_function(encoding: str):
    try:
        native = _bpe_bindings().tokenizer_for_encoding(encoding)
        return native.count
    except (ImportError, AttributeError):
        pass
    try:
        import bpe_openai
    except ImportError as exc:
        raise FtxError(f"counting {encoding} tokens needs the bpe-openai package",
                       hint="pip install 'ftx[openai]' (or bpe-openai)") from exc
    enc = bpe_openai.get_encoding(encoding)  # pragma: no cover - bpe-openai without _bindings
    return lambda text: len(enc.encode(text, disallowed_special=()))


def _native_stamp() -> list | None:
    """What identifies the installed native tokenizer (its module file's path, modification time
    and size; a reinstall changes them), or ``None`` where bpe-openai's native module cannot be
    found, which leaves the counter to be built at once (and to say what is missing)."""
    import importlib.machinery
    import importlib.util
    import sys

    module = sys.modules.get("bpe_openai._bindings")
    paths = [module.__file__] if module is not None and getattr(module, "__file__", None) else []
    if not paths:
        try:
            spec = importlib.util.find_spec("bpe_openai")
        except (ImportError, ValueError):
            return None
        paths = [os.path.join(folder, "_bindings" + suffix)
                 for folder in ((spec.submodule_search_locations or ()) if spec else ())
                 for suffix in importlib.machinery.EXTENSION_SUFFIXES]
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        return [os.path.abspath(path), st.st_mtime_ns, st.st_size]
    return None


def _bpe_bindings():
    """bpe-openai's native module, loaded without running the package's ``__init__``.

    ``import bpe_openai`` parses every rank file into Python dicts at import (~1 s) for its
    tiktoken-style API; the native tokenizer only needs its own embedded tables, and counts
    without building token lists."""
    import importlib.machinery
    import importlib.util
    import sys

    name = "bpe_openai._bindings"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec("bpe_openai")  # locates the package without importing it
    for folder in (spec.submodule_search_locations or ()) if spec else ():
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, "_bindings" + suffix)
            if os.path.exists(path):
                native_spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(native_spec)
                native_spec.loader.exec_module(module)
                sys.modules[name] = module  # a later `import bpe_openai` reuses it
                return module
    raise ImportError("bpe_openai._bindings not found")


def _load_hf(ref: str):
    """(batch counter, single counter) for a local tokenizer; never touches the network."""
    path = Path(ref).expanduser()
    if not path.exists() and ref.startswith(("/", ".", "~")):
        raise FtxError(f"no tokenizer at {ref}: the path does not exist", field="tokenizer")
    file = path if path.is_file() else path / "tokenizer.json"
    if file.is_file():
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise FtxError("loading a tokenizer.json needs the tokenizers package",
                           hint="pip install 'ftx[local]'") from exc
        tok = Tokenizer.from_file(str(file))

        def batch(texts: list[str]) -> list[int]:
            return [len(e.ids) for e in tok.encode_batch(list(texts), add_special_tokens=False)]

        return batch, lambda text: len(tok.encode(text, add_special_tokens=False).ids)
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise FtxError(f"no tokenizer.json under {ref} and transformers is not installed",
                       field="tokenizer", hint="pip install 'ftx[local]'") from exc
    try:
        tok = AutoTokenizer.from_pretrained(str(path) if path.exists() else ref, local_files_only=True)
    except Exception as exc:  # transformers raises OSError/ValueError/... for a missing tokenizer
        raise FtxError(f"cannot load a tokenizer from {ref!r} offline: {exc}", field="tokenizer",
                       hint="give a directory holding tokenizer files, or a model already in "
                            "the Hugging Face cache") from exc

    def batch_hf(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tok(list(texts), add_special_tokens=False)["input_ids"]]

    return batch_hf, lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


def message_text(message: "Message") -> str:
    """The text of one message as counted for lengths: its content, plus its tool calls as JSON."""
    text = message.content or ""
    if message.tool_calls:
        calls = json.dumps(message.tool_calls, ensure_ascii=False, sort_keys=True)
        text = f"{text}\n{calls}" if text else calls
    return text
