"""Token counts kept between commands, so a command that counts an unchanged data set does not
build the tokenizer (bpe-openai's o200k tables take ~40 ms to build, more than counting a few
thousand texts).

A count is a pure function of the text and the encoding. The store keeps, per encoding, each
counted text's 128-bit BLAKE2b digest and its count in ``<ftx home>/cache/token-counts/``; the
texts themselves are not kept. The digests are keyed (BLAKE2b's own keyed mode) with 32 random
bytes made once per ftx home (``token-counts/key``, readable by its owner only): without the key,
the file cannot be used to test whether a guessed text (a short secret, a known record) was in
someone's data. Where the key cannot be read or made, nothing is stored.

The file is valid only for the exact tokenizer that wrote it: its key holds ftx's version, the
encoding and the native module's path, modification time and size (a reinstall or upgrade
changes them); any other key, or a file that cannot be read, counts as
empty. A text not in the store (a changed example, a new file) is counted by the tokenizer and
added. New counts are written when the process ends, merged with what other commands wrote
meanwhile, at most ``MAX_ENTRIES`` of them (the newest kept). A command that counts more distinct
new texts than that keeps none and stops asking: at that size building the tokenizer is a small
part of its work.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import struct
from typing import Any

FORMAT = 2  # 2: keyed digests
# x 20 bytes: a 640 KB file, read in ~3 ms. A command with more new texts than this stops asking
# (hashing a text costs ~0.7 us against ~2.4 us to count it), so a large data set pays at most
# ~25 ms for the store, and a small one skips the tokenizer's ~40 ms build.
MAX_ENTRIES = 32_768
_MAGIC = b"FTXTOKENS\n"
_RECORD = struct.Struct("<16sI")
_MAX_COUNT = 2**32 - 1


_KEY_BYTES = 32


def _digest(text: str, key: bytes) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16, key=key).digest()


def home_key(folder: str) -> bytes | None:
    """The digest key of the store in ``folder``, made on first use (owner-only; of two commands
    making it at once, one writes it and the other reads it); None when it can be neither read
    nor made (or is read half-written): then nothing is stored."""
    path = os.path.join(folder, "key")
    try:
        with open(path, "rb") as f:
            key = f.read(_KEY_BYTES + 1)
        return key if len(key) == _KEY_BYTES else None
    except FileNotFoundError:
        pass
    except OSError:
        return None
    key = os.urandom(_KEY_BYTES)
    try:
        os.makedirs(folder, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never replaces a key
    except FileExistsError:
        return home_key(folder) if os.path.exists(path) else None
    except OSError:
        return None
    with os.fdopen(fd, "wb") as f:
        f.write(key)
    return key


class TokenStore:
    """The stored counts of one encoding (see the module docstring)."""

    def __init__(self, path: str, key: list[Any], home: str | None = None) -> None:
        self.path = path
        self.home = home  # not written once it is gone (a test's temporary home)
        self.key = key
        self._known: dict[bytes, int] | None = None  # read on the first question
        self._fresh: dict[bytes, int] = {}
        self._last: tuple[str, bytes] | None = None  # the text just asked about, and its digest
        self._overflow = False
        self._registered = False
        self._key: bytes | None = None  # read (or made) with the file, on the first question

    def _ready(self) -> bool:
        """The key and the stored counts, read on the first question; False (and the store
        stops asking) when there is no key."""
        if self._known is None:
            gone = self.home is not None and not os.path.isdir(self.home)
            self._key = None if gone else home_key(os.path.dirname(self.path))
            if self._key is None:
                self._overflow = True
                return False
            self._known = self._read()
        return True

    def digest(self, text: str) -> bytes:
        """``text``'s keyed digest in this store (its key read or made first)."""
        self._ready()
        return _digest(text, self._key or b"")

    def _header(self) -> bytes:
        # The key's own fingerprint too: counts digested with another key (a key file removed and
        # made again) read as none.
        mark = hashlib.blake2b(self._key or b"", digest_size=8, person=b"ftx-token-key").hexdigest()
        return _MAGIC + json.dumps([*self.key, mark], separators=(",", ":")).encode() + b"\n"

    def _read(self) -> dict[bytes, int]:
        try:
            with open(self.path, "rb") as f:
                blob = f.read()
        except OSError:
            return {}
        header = self._header()
        body = memoryview(blob)[len(header):]
        if not blob.startswith(header) or len(body) % _RECORD.size:
            return {}
        return dict(_RECORD.iter_unpack(body))

    def get(self, text: str) -> int | None:
        if self._overflow or not self._ready():
            return None
        digest = _digest(text, self._key)
        self._last = (text, digest)
        n = self._known.get(digest)
        return n if n is not None else self._fresh.get(digest)

    def put(self, text: str, n: int) -> None:
        if self._overflow or not 0 <= n <= _MAX_COUNT:
            return
        last = self._last
        if not self._ready():
            return
        digest = last[1] if last is not None and last[0] is text else _digest(text, self._key)
        self._fresh[digest] = n
        if len(self._fresh) > MAX_ENTRIES:
            self._overflow = True
            self._fresh = {}
            return
        if not self._registered:
            self._registered = True
            atexit.register(self.save)

    def give_up(self) -> None:
        """Stop asking and keep nothing new: the command counts more new texts than the store
        holds (what :meth:`put` does on reaching ``MAX_ENTRIES``, known in advance)."""
        self._overflow = True
        self._fresh = {}

    def save(self) -> None:
        """Write the new counts (merged with the file as it is now); silently not at all where
        the home cannot be written (the store is only a shortcut)."""
        if not self._fresh or self._key is None or (self.home is not None and not os.path.isdir(self.home)):
            return
        merged = {**self._read(), **self._fresh}  # a newer count of a text replaces the old
        entries = list(merged.items())[-MAX_ENTRIES:]
        try:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            tmp = f"{self.path}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                f.write(self._header())
                f.write(b"".join(_RECORD.pack(d, n) for d, n in entries))
            os.replace(tmp, self.path)
        except OSError:
            return
        self._known = merged
        self._fresh = {}


def store_for(encoding: str, native: list[Any] | None) -> TokenStore | None:
    """The store of ``encoding`` counted by the native module ``native`` identifies (see
    ``ftx.data.tokens._native_stamp``); ``None`` when there is no native module or no ftx home,
    or ``FTX_TOKEN_STORE=0``."""
    if native is None or os.environ.get("FTX_TOKEN_STORE", "1").strip() == "0":
        return None
    try:
        from ..home import ftx_home

        home = ftx_home()
    except OSError:
        return None
    from .. import __version__

    return TokenStore(os.path.join(home, "cache", "token-counts", f"{encoding}.bin"),
                      [FORMAT, __version__, encoding, native], home=str(home))
