"""The ``openai`` SDK client for OpenAI and Azure OpenAI, and its errors in ftx's terms.

The SDK's own retries are off (``max_retries=0``): ftx retries (``ftx.hosted.retry``), so the
behaviour is the same for every provider and tests can count every request. Credentials come
from the environment only and never leave this module.
"""

from __future__ import annotations

import os
from typing import Any, Callable, TypeVar

from ftx.errors import BackendError
from ftx.hosted import ProviderError, TransientError, classify_http, unreachable
from ftx.redact import redact_text

T = TypeVar("T")

#: 429s that waiting will not fix: the account has no credit left.
QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached", "billing_not_active"})


def http_timeout() -> float:
    try:
        return float(os.environ.get("FTX_HTTP_TIMEOUT", "60"))
    except ValueError:
        return 60.0


def connection_settings(backend: str, options: Any = None) -> dict[str, Any]:
    """Non-secret settings that locate the service: stored with the run for ``ftx jobs``."""
    if backend == "azure-openai":
        return {"endpoint": getattr(options, "endpoint", None) or os.environ.get("AZURE_OPENAI_ENDPOINT"),
                "api_version": getattr(options, "api_version", None) or os.environ.get("OPENAI_API_VERSION")}
    out: dict[str, Any] = {}
    if os.environ.get("OPENAI_BASE_URL"):
        out["base_url"] = os.environ["OPENAI_BASE_URL"]
    for key, env in (("organization", "OPENAI_ORG_ID"), ("project", "OPENAI_PROJECT_ID")):
        value = getattr(options, key, None) or os.environ.get(env)
        if value:
            out[key] = value
    return out


def make_client(backend: str, connection: dict[str, Any]) -> Any:
    """An SDK client for ``backend`` (``openai`` or ``azure-openai``)."""
    try:
        import openai
    except ImportError as exc:
        raise BackendError("the openai package is not installed", hint="pip install 'ftx[openai]'") from exc
    if backend == "azure-openai":
        endpoint = connection.get("endpoint") or os.environ.get("AZURE_OPENAI_ENDPOINT")
        version = connection.get("api_version") or os.environ.get("OPENAI_API_VERSION")
        key = os.environ.get("AZURE_OPENAI_API_KEY")
        missing = [name for name, value in (("AZURE_OPENAI_ENDPOINT (or backends.azure-openai.endpoint)", endpoint),
                                            ("OPENAI_API_VERSION (or backends.azure-openai.api_version)", version),
                                            ("AZURE_OPENAI_API_KEY", key)) if not value]
        if missing:
            raise BackendError(f"Azure OpenAI is not configured: set {', '.join(missing)}")
        return openai.AzureOpenAI(azure_endpoint=endpoint, api_version=version, api_key=key,
                                  max_retries=0, timeout=http_timeout())
    key = os.environ.get("OPENAI_API_KEY")
    if not key:
        raise BackendError("OPENAI_API_KEY is not set", hint="export OPENAI_API_KEY=... (a key of the project to bill)")
    return openai.OpenAI(api_key=key, base_url=connection.get("base_url") or os.environ.get("OPENAI_BASE_URL") or None,
                         organization=connection.get("organization"), project=connection.get("project"),
                         max_retries=0, timeout=http_timeout())


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return str(getattr(exc, "message", None) or exc)


def translate(exc: Exception, label: str) -> Exception:
    """An SDK exception as :class:`TransientError` (retry) or :class:`ProviderError` (stop)."""
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return TransientError(f"{label} did not answer within {http_timeout():g}s")
    if isinstance(exc, openai.APIConnectionError):
        return unreachable(label, exc)
    if isinstance(exc, openai.APIStatusError):
        return classify_http(label, exc.status_code, _message(exc), exc.code, exc.response.headers,
                             final_codes=QUOTA_CODES, transient_statuses=frozenset({409}),
                             final_hints=dict.fromkeys(QUOTA_CODES, "add credit or raise the limit in the "
                                                                    "billing settings"))
    if isinstance(exc, openai.OpenAIError):
        return ProviderError(label, redact_text(str(exc)) or type(exc).__name__)
    return exc


def call(label: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run one SDK call, translating its errors."""
    import openai

    try:
        return fn(*args, **kwargs)
    except openai.OpenAIError as exc:
        raise translate(exc, label) from None
