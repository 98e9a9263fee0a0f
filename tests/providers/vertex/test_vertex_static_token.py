"""A rejected static Vertex token says so, not "cannot refresh ... refresh_token" (issue 9, section 6)."""

from __future__ import annotations

import pytest

pytest.importorskip("google.auth")


def test_a_rejected_static_token_is_reported_as_rejected():
    import google.oauth2.credentials
    from google.auth import exceptions
    from google.auth.transport.requests import Request

    from ftx.providers.vertex.errors import translate

    creds = google.oauth2.credentials.Credentials("ya29.static-token-for-test")
    with pytest.raises(exceptions.RefreshError) as info:
        creds.refresh(Request())  # what google-auth does after a 401 on a static token
    err = translate(info.value, "Vertex AI")
    text = str(err)
    assert "access token was rejected" in text and "refresh_token" not in text
    assert "ya29.static" not in text


def test_other_refresh_errors_keep_their_reason():
    from google.auth import exceptions

    from ftx.providers.vertex.errors import translate

    err = translate(exceptions.RefreshError("invalid_grant: account disabled"), "Vertex AI")
    assert "cannot refresh the credentials" in str(err) and "invalid_grant" in str(err)
