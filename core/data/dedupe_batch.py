"""A chunk of examples turned into the duplicate index's inputs with a handful of numpy calls
(:class:`ftx.data.dedupe.DedupeIndex` uses it once numpy is worth importing).

Per example, Python only gathers attributes (``map`` over ``attrgetter``, in C): every message's
role and text end to end, and whether the example is plain. Then, for the whole chunk at once:

- exact hashes of the plain examples from Python's string hashes of kinds, roles and texts
  (:func:`ftx.data.minhash_np.plain_hashes`); other examples are hashed one by one
  (:func:`ftx.data.minhash.exact_hash`), as are examples whose normalized words need the regex;
- the normalized words of every other example by one ``bytes.translate`` over the chunk's
  joined text, their ids hashed byte-wise (:func:`ftx.data.minhash_np.word_ids_of_bytes`).

Both give exactly :func:`ftx.data.minhash.exact_hash` and
:func:`ftx.data.minhash.near_words` + :func:`~ftx.data.minhash.word_ids` of each example
(``tests/data/test_dedupe_batch.py``).
"""

from __future__ import annotations

from itertools import chain, compress
from operator import attrgetter

import numpy as np

from ..example import Example
from .minhash import _ASCII_LOWER_SPACES, _PLAIN_ROLES, exact_hash, near_words
from .minhash_np import Workspace, plain_hashes, word_ids_of_bytes

_MESSAGES = attrgetter("messages")
_ROLE, _CONTENT, _KIND = attrgetter("role"), attrgetter("content"), attrgetter("kind")
_EXTRAS = attrgetter("name", "weight", "tool_calls", "tool_call_id")
_REPLIES = attrgetter("chosen", "rejected", "tools")
_NONE4, _NONE3 = (None,) * 4, (None,) * 3


class Chunk:
    """The flat view of a list of examples: every message's role (as a code into the chunk's
    distinct roles) and text (``None`` as ``""``) end to end, ``counts[i]`` messages for example
    ``i``."""

    def __init__(self, examples: list[Example]):
        self.examples = examples
        lists = list(map(_MESSAGES, examples))
        self.counts = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
        self.ends = np.cumsum(self.counts)
        self.messages = messages = list(chain.from_iterable(lists))
        self.roles = roles = list(map(_ROLE, messages))
        self.distinct = list(dict.fromkeys(roles))
        code = {role: i for i, role in enumerate(self.distinct)}
        self.role_code = np.fromiter(map(code.__getitem__, roles), dtype=np.int64, count=len(roles))
        texts = list(map(_CONTENT, messages))
        if None in texts:
            texts = ["" if t is None else t for t in texts]
        self.texts = texts
        self.lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        # Examples with replies or tools (preference pairs, tool use): hashed and split one by one.
        self.special = np.fromiter(map(_NONE3.__ne__, map(_REPLIES, examples)), dtype=bool, count=len(examples))

    def _per_example(self, flags: np.ndarray) -> np.ndarray:
        """How many messages of each example have ``flags`` set."""
        cs = np.zeros(len(flags) + 1, dtype=np.int64)
        np.cumsum(flags, out=cs[1:])
        return cs[self.ends] - cs[self.ends - self.counts]

    def _of_roles(self, fn, dtype) -> np.ndarray:
        """``fn`` of each message's role (computed once per distinct role)."""
        return np.array([fn(role) for role in self.distinct], dtype=dtype)[self.role_code]

    def exact_hashes(self) -> list[int]:
        """:func:`ftx.data.minhash.exact_hash` of each example."""
        m = len(self.messages)
        odd = np.fromiter(map(_NONE4.__ne__, map(_EXTRAS, self.messages)), dtype=bool, count=m)
        plain = (self._per_example(odd) == 0) & ~self.special
        kinds = np.fromiter(map(hash, map(_KIND, self.examples)), dtype=np.int64, count=len(self.examples))
        texts = np.fromiter(map(hash, self.texts), dtype=np.int64, count=m)
        hashes = plain_hashes(kinds, self._of_roles(hash, np.int64), texts, self.counts).tolist()
        for i in np.flatnonzero(~plain).tolist():
            hashes[i] = exact_hash(self.examples[i])
        return hashes

    def _joined(self, take: np.ndarray) -> str:
        """The messages where ``take`` is set as ``role text role text ...`` (and eight spaces)."""
        pieces = [""] * (2 * int(take.sum()) + 1)
        pieces[0:-1:2] = compress(self.roles, take)
        pieces[1:-1:2] = compress(self.texts, take)
        pieces[-1] = " " * 7  # eight trailing spaces: the word hashing reads whole blocks without a copy
        return " ".join(pieces)

    def near_ids(self, keep: np.ndarray, work: Workspace | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(word ids end to end, word counts) of the examples where ``keep`` is set, in order
        (the ids may live in ``work``'s memory)."""
        shown = (self.lengths > 0) & self._of_roles("system".__ne__, bool)
        odd_role = shown & ~self._of_roles(_PLAIN_ROLES.__contains__, bool)
        # The one-translate path of near_words: examples without replies, with text outside the
        # system prompt, all of it ASCII under one-word roles. The rest go through near_words itself.
        fast = (self._per_example(shown) > 0) & (self._per_example(odd_role) == 0) & keep & ~self.special
        take = shown & np.repeat(fast, self.counts)
        text = self._joined(take)
        if not text.isascii():  # (known without a scan: CPython marks ASCII strings)
            m = len(self.texts)
            wide = shown & ~np.fromiter(map(str.isascii, self.texts), dtype=bool, count=m)
            fast &= self._per_example(wide) == 0
            take = shown & np.repeat(fast, self.counts)
            text = self._joined(take)
        ids, word_at = word_ids_of_bytes(text.encode("ascii").translate(_ASCII_LOWER_SPACES), work)
        # Byte offset of each fast example's first message in the joined text.
        sizes = np.where(take, self._of_roles(len, np.int64) + self.lengths + 2, 0)
        cs = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=cs[1:])
        fast_at = np.flatnonzero(fast)
        bounds = np.searchsorted(word_at, cs[self.ends - self.counts][fast_at])
        counts = np.diff(np.append(bounds, len(ids)))
        slow = np.flatnonzero(keep & ~fast)
        if not len(slow):
            return ids, counts
        words = [near_words(self.examples[i]) for i in slow.tolist()]
        slow_ids, _ = word_ids_of_bytes(" ".join(chain.from_iterable(words)).encode())
        slow_counts = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        # Interleave the two groups back into example order.
        order = np.concatenate([fast_at, slow])
        per = np.concatenate([counts, slow_counts])
        source = np.concatenate([ids, slow_ids])
        rank = np.empty(len(order), dtype=np.int64)
        rank[np.argsort(order, kind="stable")] = np.arange(len(order))
        counts_out = np.empty_like(per)
        counts_out[rank] = per
        from_at = np.empty_like(per)
        from_at[rank] = np.cumsum(per) - per
        to_at = np.cumsum(counts_out) - counts_out
        index = np.repeat(from_at - to_at, counts_out) + np.arange(int(counts_out.sum()), dtype=np.int64)
        return source[index], counts_out
