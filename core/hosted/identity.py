"""Where a hosted run runs, as part of its identity, and short key tags for providers without metadata.

The idempotency key of a launch covers the request, the data *and the target* (endpoint, account,
project, region): the same recipe sent to another endpoint or account is a new launch there, never
"already trained". Secrets are not part of a target: credentials inside a URL are cut out first.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..redact import redact_text

_SECRET_KEYS = ("key", "token", "secret", "password", "credential")


def target_of(connection: dict[str, Any]) -> dict[str, Any]:
    """The non-secret parts of a connection, URLs without user:password, sorted."""
    out: dict[str, Any] = {}
    for key, value in sorted((connection or {}).items()):
        if any(word in key.lower() for word in _SECRET_KEYS) or value in (None, "", {}):
            continue
        out[key] = strip_userinfo(value) if isinstance(value, str) else value
    return out


def strip_userinfo(url: str) -> str:
    """``http://user:KEY@host/v1`` -> ``http://host/v1`` (anything else only redacted)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if parts.scheme and "@" in parts.netloc:
        parts = parts._replace(netloc=parts.netloc.rsplit("@", 1)[1])
        return urlunsplit(parts)
    return redact_text(url)


def key_tag(client_key: str, length: int = 12) -> str:
    """A short tag standing for ``client_key`` (``ftx`` + hex), for providers that keep no job
    metadata: put it in a job name or suffix and find the job by it (see ``docs/plugins.md``).
    12 hex digits make an accidental match between two keys about 1 in 2**48."""
    return "ftx" + hashlib.sha256(client_key.encode()).hexdigest()[:length]
