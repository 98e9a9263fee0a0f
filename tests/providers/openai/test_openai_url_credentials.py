"""Credentials inside OPENAI_BASE_URL never reach a file ftx writes (issue 9, section 1)."""

from __future__ import annotations

SECRET = "urlsecret-5f1d2c9a7b"


def test_base_url_credentials_stay_out_of_the_cache_and_registry(cli, fake_openai, make_recipe, ftx_home, monkeypatch):
    url = fake_openai.url.replace("http://", f"http://ftxuser:{SECRET}@", 1)
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    r = cli("run", make_recipe(), "--backend", "openai", "--yes")
    assert r.exit_code == 0, r
    cache = ftx_home / "cache" / "openai-files.json"
    assert cache.is_file() and "credentials-" in cache.read_text()
    for path in ftx_home.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert SECRET not in r.stdout + r.stderr


def test_url_scope_keeps_accounts_apart_without_the_secret():
    from ftx.redact import redact_text, url_scope

    a, b = url_scope("http://u:one@h/v1"), url_scope("http://u:two@h/v1")
    assert a != b and "one" not in a and "two" not in b and a.endswith("@h/v1")
    assert url_scope("https://api.openai.com/v1") == "https://api.openai.com/v1"
    assert redact_text("to http://u:pw-123@h/v1 now") == "to http://***@h/v1 now"
