"""64 bits of BLAKE2b, for comparing data within one command (exact duplicates, contradictory
examples, the duplicate records ``ftx data validate`` warns about).

BLAKE2b comes from CPython's builtin ``_blake2``: ``import hashlib`` also loads OpenSSL's
bindings (~2.5 ms of start-up, which light commands feel)."""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python without the builtin module
    from hashlib import blake2b


def hash64(data: bytes, person: bytes = b"") -> int:
    """A signed 64-bit BLAKE2b of ``data`` (``person``: a separate family of values, at most 16 bytes)."""
    return int.from_bytes(blake2b(data, digest_size=8, person=person).digest(), "little", signed=True)
