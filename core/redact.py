"""Scrub secrets out of anything ftx stores or prints (registry rows, logs, artifacts).

Two complementary nets, because either alone leaks:

* **by key**: in mappings, the value of a key that names a secret (``api_key``, ``token``,
  ``password``, ``Authorization`` ...) becomes ``"***"`` whatever it looks like;
* **by shape**: inside any string, things that look like credentials (``sk-...`` OpenAI keys,
  ``Bearer ...``, Google ``ya29.`` tokens, ``key=value`` pairs with a secret key, PEM private
  keys) and the *current values* of secret-named environment variables (``OPENAI_API_KEY``,
  ``*_TOKEN``, ``*_SECRET``, ``*_KEY`` ...) are replaced by ``***``.

The environment is read on every call, so a key exported after import is still caught.
"""

from __future__ import annotations

import os
import re
from typing import Any, Mapping

MASK = "***"

# A key is secret when its normalised form (snake_case, lower) equals or ends with one of these.
_SECRET_KEY_ENDINGS = (
    "api_key", "apikey", "private_key", "secret_key", "access_key", "account_key", "signing_key",
    "encryption_key", "auth_key", "subscription_key", "token", "secret", "secrets", "password",
    "passwd", "passphrase", "credential", "credentials", "authorization", "cookie", "session_key",
)
# Tokenizer settings are "tokens" in the other sense; masking them would garble recipe snapshots.
_NOT_SECRET_KEYS = frozenset({
    "pad_token", "eos_token", "bos_token", "unk_token", "sep_token", "cls_token", "mask_token",
    "special_token", "additional_special_token", "chat_template_token",
})
# Environment variables whose values are scrubbed from every string.
_SECRET_ENV_ENDINGS = ("_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_PASSWD", "_CREDENTIALS", "_APIKEY")
_SECRET_ENV_NAMES = frozenset({"OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "FTX_VERTEX_ACCESS_TOKEN"})
# Values shorter than this are too likely to be ordinary words ("true", "1") to scrub everywhere.
_MIN_ENV_SECRET_LEN = 8

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")

# Shapes of well-known credentials; each match is replaced whole.
_SHAPES = [
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
    re.compile(r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{16,}"),          # OpenAI (sk-, sk-proj-, sk-svcacct-)
    re.compile(r"(?<![A-Za-z0-9])ya29\.[A-Za-z0-9_\-.]{10,}"),       # Google OAuth access token
    re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{30,}"),          # Google API key
    re.compile(r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}"),              # Hugging Face
    re.compile(r"(?<![A-Za-z0-9])(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
    re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])"),  # AWS access key id
]
# Credentials inside a URL: scheme://user:password@host (OPENAI_BASE_URL=http://user:KEY@host/v1).
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/\s@:]*):([^/\s@]+)@")
# "Bearer xyz" / "Basic xyz" anywhere (HTTP headers echoed in errors and logs).
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=\-]{6,}")
# key=value / key: value / "key": "value" where the key names a secret.
_KEY_VALUE = re.compile(
    r"(?i)(?<![A-Za-z0-9_])([A-Za-z0-9_\-]*?(?:api[_-]?key|apikey|private[_-]?key|secret[_-]?key|"
    r"access[_-]?key|token|secret|password|passwd|passphrase|authorization))"
    r"(?![A-Za-z0-9_])(\"|')?(\s*[:=]\s*)(\"|')?((?:(?:bearer|basic|token)\s+)?[^\s\"',;&}\]]+)"
)


def normalise_key(key: str) -> str:
    """``apiKey``, ``API-Key``, ``x-api-key`` -> ``api_key``, ``api_key``, ``x_api_key``."""
    return _NON_WORD.sub("_", _CAMEL.sub("_", key).lower()).strip("_")


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (``OPENAI_API_KEY``, ``access_token``, ``password``)."""
    norm = normalise_key(key)
    if not norm or norm in _NOT_SECRET_KEYS or norm.endswith("special_tokens"):
        return False
    return any(norm == end or norm.endswith("_" + end) for end in _SECRET_KEY_ENDINGS)


def is_secret_env_name(name: str) -> bool:
    """Whether an environment variable's value must be scrubbed wherever it appears."""
    upper = name.upper()
    return upper in _SECRET_ENV_NAMES or upper.endswith(_SECRET_ENV_ENDINGS)


def secret_env_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Current values of secret-named environment variables, longest first (so overlaps mask fully)."""
    env = os.environ if environ is None else environ
    values = {v for k, v in env.items() if is_secret_env_name(k) and len(v.strip()) >= _MIN_ENV_SECRET_LEN}
    return sorted(values, key=len, reverse=True)


def _mask_key_value(m: re.Match[str]) -> str:
    if normalise_key(m.group(1)) in _NOT_SECRET_KEYS or m.group(5) == MASK:
        return m.group(0)
    return f"{m.group(1)}{m.group(2) or ''}{m.group(3)}{m.group(4) or ''}{MASK}"


def _redact_text(text: str, env_values: list[str]) -> str:
    for value in env_values:
        if value in text:
            text = text.replace(value, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    for shape in _SHAPES:
        text = shape.sub(MASK, text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _KEY_VALUE.sub(_mask_key_value, text)


def redact_text(text: str) -> str:
    """Scrub credentials and secret environment values out of one string (a log line, an error)."""
    return _redact_text(text, secret_env_values())


def _redact(value: Any, env_values: list[str]) -> Any:
    if isinstance(value, str):
        return _redact_text(value, env_values)
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and is_secret_key(key) and item is not None and not isinstance(item, bool):
                out[_redact_text(key, env_values)] = MASK
            else:
                out[_redact_text(key, env_values) if isinstance(key, str) else key] = _redact(item, env_values)
        return out
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [_redact(item, env_values) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    return value


def redact(value: Any) -> Any:
    """A copy of ``value`` (str, mapping, sequence, scalar) with every secret replaced by ``"***"``.

    Mapping values under secret-named keys are masked whole (``None`` and booleans such as
    ``use_auth_token: true`` are kept: they reveal nothing); strings anywhere are scrubbed as in
    :func:`redact_text`. Sets come back as lists; other scalars unchanged.
    """
    return _redact(value, secret_env_values())


def url_scope(url: str) -> str:
    """``url`` safe to store as a cache key: credentials in it are replaced by a short digest of
    them, so two accounts on one host stay apart and the secret itself is never written."""
    import hashlib

    def digest(m: re.Match[str]) -> str:
        tag = hashlib.sha256(f"{m.group(2)}:{m.group(3)}".encode()).hexdigest()[:12]
        return f"{m.group(1)}credentials-{tag}@"

    return redact_text(_URL_USERINFO.sub(digest, url))
