"""ftx.redact: secrets are masked by key, by shape and by current environment value."""

from __future__ import annotations

import pytest

from ftx.redact import MASK, is_secret_env_name, is_secret_key, redact, redact_text


@pytest.mark.parametrize("key", [
    "api_key", "apikey", "apiKey", "API-Key", "x-api-key", "OPENAI_API_KEY", "token", "access_token",
    "accessToken", "hf_token", "refresh_token", "secret", "client_secret", "password", "db_password",
    "Authorization", "credentials", "private_key", "aws_secret_access_key", "passphrase", "secrets",
])
def test_secret_keys(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", [
    "max_tokens", "tokens", "pad_token", "eos_token", "bos_token", "additional_special_tokens", "tokenizer",
    "client_key", "model", "name", "token_count", "secretary", "keyword", "hash_key", "",
])
def test_ordinary_keys(key):
    assert not is_secret_key(key)


@pytest.mark.parametrize("name,secret", [
    ("OPENAI_API_KEY", True), ("AZURE_OPENAI_API_KEY", True), ("FTX_VERTEX_ACCESS_TOKEN", True),
    ("HF_TOKEN", True), ("MY_SERVICE_SECRET", True), ("DB_PASSWORD", True), ("SOME_KEY", True),
    ("HOME", False), ("PATH", False), ("FTX_HOME", False), ("KEYBOARD", False), ("TOKENIZERS_PARALLELISM", False),
])
def test_secret_env_names(name, secret):
    assert is_secret_env_name(name) is secret


def test_masks_values_of_secret_keys_recursively_and_keeps_the_rest():
    value = {
        "model": "gpt-4o-mini",
        "max_tokens": 512,
        "pad_token": "<pad>",
        "use_auth_token": True,
        "api_key": None,
        "provider": {"openai": {"api_key": "abc123", "organization": "org-1"},
                     "headers": [{"Authorization": "Basic dXNlcjpwYXNz"}, {"Accept": "json"}]},
        "credentials": {"client_email": "x@y", "private_key": "k"},
        "nested": ({"password": 1234},),
    }
    out = redact(value)
    assert out["model"] == "gpt-4o-mini" and out["max_tokens"] == 512 and out["pad_token"] == "<pad>"
    assert out["use_auth_token"] is True and out["api_key"] is None
    assert out["provider"]["openai"] == {"api_key": MASK, "organization": "org-1"}
    assert out["provider"]["headers"] == [{"Authorization": MASK}, {"Accept": "json"}]
    assert out["credentials"] == MASK  # a whole secret-named mapping goes
    assert out["nested"] == ({"password": MASK},)  # tuples stay tuples
    # The input is not modified.
    assert value["provider"]["openai"]["api_key"] == "abc123"


@pytest.mark.parametrize("secret", [
    "sk-abcdefghijklmnopqrstuvwx1234",
    "sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz_0123-456789",
    "ya29.a0AfH6SMBxyz-1234567890abcdef",
    "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    "hf_abcdefghijklmnopqrstuvwxyzABCDEFGH",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "AKIAABCDEFGHIJKLMNOP",
])
def test_scrubs_credential_shapes_anywhere_in_text(secret):
    text = f"request failed (key {secret}): retry later"
    out = redact_text(text)
    assert secret not in out
    assert out == f"request failed (key {MASK}): retry later"


def test_scrubs_auth_headers_key_value_pairs_and_pem_keys():
    assert redact_text("Authorization: Bearer abc.def-ghi_jkl") == "Authorization: ***"
    assert redact_text("sent header bearer abcdef123456 ok") == "sent header bearer *** ok"
    assert redact_text("login password=hunter22 user=bob") == "login password=*** user=bob"
    assert redact_text("GET /v1?access_token=abcdef&page=2") == "GET /v1?access_token=***&page=2"
    assert redact_text('{"api_key": "abc", "model": "m"}') == '{"api_key": "***", "model": "m"}'
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\nkqhkiG9w0\n-----END PRIVATE KEY-----"
    assert redact_text(f"key file:\n{pem}\ndone") == "key file:\n***\ndone"


def test_leaves_ordinary_text_alone():
    text = "max_tokens=100 pad_token=<pad> epochs: 3 task-runner-abcdefghijklmnopq lr=2e-4 tokens: 12,345"
    assert redact_text(text) == text


def test_scrubs_current_values_of_secret_environment_variables(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "plain-looking-value-0042")
    monkeypatch.setenv("FTX_VERTEX_ACCESS_TOKEN", "another.opaque.value.99")
    monkeypatch.setenv("FTX_MODEL_NAME", "visible-model-name")  # not secret-named: kept
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # too short to scrub everywhere safely
    text = "using plain-looking-value-0042 and another.opaque.value.99 for visible-model-name abc"
    assert redact_text(text) == "using *** and *** for visible-model-name abc"
    assert redact({"note": [text]}) == {"note": ["using *** and *** for visible-model-name abc"]}


def test_environment_is_read_at_call_time(monkeypatch):
    assert redact_text("value late-exported-secret-1") == "value late-exported-secret-1"
    monkeypatch.setenv("LATE_SECRET", "late-exported-secret-1")
    assert redact_text("value late-exported-secret-1") == "value ***"


def test_string_keys_and_non_string_scalars():
    secret = "sk-abcdefghijklmnopqrstuvwx1234"
    assert redact({secret: 1}) == {MASK: 1}
    assert redact(3.5) == 3.5 and redact(None) is None and redact(True) is True
    assert redact({1: "a"}) == {1: "a"}
