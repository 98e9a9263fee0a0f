"""Where a Vertex AI run goes and as whom: project, region, staging bucket, endpoint, credentials.

Each setting comes from the recipe (``backends.vertex``), else the environment:

==============  ==========================  =====================================================
setting         recipe option               environment
==============  ==========================  =====================================================
project         ``project``                 ``GOOGLE_CLOUD_PROJECT``, else the ADC project
location        ``location``                ``GOOGLE_CLOUD_LOCATION``, else ``us-central1``
bucket          ``bucket`` (``gs://B/P``)   ``FTX_VERTEX_BUCKET``
endpoint        ``endpoint``                ``FTX_VERTEX_ENDPOINT`` (private/regional, tests)
credentials     (never in a recipe)         ``FTX_VERTEX_ACCESS_TOKEN``, else Application
                                            Default Credentials
==============  ==========================  =====================================================

Everything but the credentials is stored with the run (:func:`connection_settings`), so
``ftx jobs`` reaches the job again from the run id alone. Cloud Storage honours the standard
``STORAGE_EMULATOR_HOST``.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ftx.errors import BackendError

ENV_PROJECT = "GOOGLE_CLOUD_PROJECT"
ENV_LOCATION = "GOOGLE_CLOUD_LOCATION"
ENV_BUCKET = "FTX_VERTEX_BUCKET"
ENV_ENDPOINT = "FTX_VERTEX_ENDPOINT"
ENV_TOKEN = "FTX_VERTEX_ACCESS_TOKEN"
ENV_API_VERSION = "FTX_VERTEX_API_VERSION"
DEFAULT_LOCATION = "us-central1"
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_ADC_HINT = "gcloud auth application-default login"


def split_bucket(value: str) -> tuple[str, str]:
    """``gs://bucket/some/prefix`` (or ``bucket/prefix``) -> (``bucket``, ``some/prefix``)."""
    name, _, prefix = value.strip().removeprefix("gs://").partition("/")
    return name, prefix.strip("/")


def bucket_problem(value: str) -> str | None:
    name, _ = split_bucket(value)
    if not _BUCKET.match(name) or ".." in name:
        return (f"{value!r} is not a Cloud Storage bucket name (3-222 lowercase letters, digits, "
                "dots, dashes, underscores; optionally gs://BUCKET/PREFIX)")
    return None


def _option(options: Any, key: str) -> Any:
    return getattr(options, key, None) if options is not None else None


def configured(options: Any = None) -> dict[str, Any]:
    """The settings the recipe and environment give (no credentials, no network); missing
    ones are ``None``."""
    bucket = _option(options, "bucket") or os.environ.get(ENV_BUCKET) or None
    name, prefix = split_bucket(bucket) if bucket else (None, "")
    return {
        "project": _option(options, "project") or os.environ.get(ENV_PROJECT) or None,
        "location": _option(options, "location") or os.environ.get(ENV_LOCATION) or DEFAULT_LOCATION,
        "bucket": name,
        "prefix": prefix,
        "endpoint": (_option(options, "endpoint") or os.environ.get(ENV_ENDPOINT) or "").rstrip("/") or None,
    }


def require_google() -> None:
    """Fail with one line, not a traceback, when the vertex extra is not installed."""
    import importlib.util

    missing = [name for name in ("google.auth", "google.genai", "google.cloud.storage")
               if _spec(name, importlib.util) is None]
    if missing:
        raise BackendError(f"the Google Cloud client libraries are not installed ({', '.join(missing)})",
                           hint="pip install 'ftx[vertex]'")


def _spec(name: str, util: Any) -> Any:
    try:
        return util.find_spec(name)
    except ModuleNotFoundError:  # a parent package is missing
        return None


def _adc() -> tuple[Any, str | None]:
    """Application Default Credentials and their project, or raise ``DefaultCredentialsError``."""
    import google.auth

    return google.auth.default(scopes=list(SCOPES))


def credentials() -> Any:
    """Credentials for Google Cloud: a static token from ``FTX_VERTEX_ACCESS_TOKEN``, else ADC.

    Raises :class:`BackendError` (one line) when neither is available."""
    require_google()
    token = os.environ.get(ENV_TOKEN, "").strip()
    if token:
        import google.oauth2.credentials

        return google.oauth2.credentials.Credentials(token)
    import google.auth.exceptions

    try:
        creds, _ = _adc()
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise BackendError(f"no Google Cloud credentials: set {ENV_TOKEN} or configure Application Default "
                           f"Credentials ({_ADC_HINT})", hint=_first_line(exc)) from None
    return creds


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def connection_settings(options: Any = None, *, check_credentials: bool = True,
                        need_bucket: bool = True) -> dict[str, Any]:
    """Settings to store with the run, checked: every missing one is named in a single
    :class:`BackendError`, before anything is uploaded or created. ``need_bucket=False`` for
    calls that upload nothing (listing a project's jobs)."""
    settings = configured(options)
    no_credentials = adc_error = None
    if check_credentials and not os.environ.get(ENV_TOKEN, "").strip():
        require_google()
        import google.auth.exceptions

        try:
            _, adc_project = _adc()
            settings["project"] = settings["project"] or adc_project
        except google.auth.exceptions.DefaultCredentialsError as exc:
            adc_error = _first_line(exc)
            no_credentials = f"credentials ({ENV_TOKEN}, or Application Default Credentials: {_ADC_HINT})"
    missing = [what for what, absent in (
        (f"the project ({ENV_PROJECT} or backends.vertex.project)", not settings["project"]),
        (f"a staging bucket ({ENV_BUCKET} or backends.vertex.bucket)", need_bucket and not settings["bucket"]),
        (no_credentials, no_credentials is not None)) if absent]
    if missing:
        raise BackendError("Vertex AI is not configured: missing " + "; ".join(missing), hint=adc_error)
    problem = settings["bucket"] and bucket_problem(settings["bucket"] + (
        "/" + settings["prefix"] if settings["prefix"] else ""))
    if problem:
        raise BackendError(f"staging bucket: {problem}")
    if settings["endpoint"] and not re.match(r"^https?://[^/\s]+", settings["endpoint"]):
        raise BackendError(f"{ENV_ENDPOINT} must be an http(s) URL, not {settings['endpoint']!r}")
    return settings


def http_timeout_ms() -> int:
    """The per-request timeout: ``FTX_HTTP_TIMEOUT`` seconds (default 60)."""
    try:
        return int(float(os.environ.get("FTX_HTTP_TIMEOUT", "60")) * 1000)
    except ValueError:
        return 60_000


def make_genai_client(connection: dict[str, Any], creds: Any) -> Any:
    """A google-genai client in Vertex mode, with the SDK's own retries off (ftx retries)."""
    from google import genai
    from google.genai import types

    options: dict[str, Any] = {"timeout": http_timeout_ms()}
    if connection.get("endpoint"):
        options["base_url"] = connection["endpoint"].rstrip("/") + "/"
    version = os.environ.get(ENV_API_VERSION)
    if version:
        options["api_version"] = version
    return genai.Client(vertexai=True, project=connection["project"], location=connection["location"],
                        credentials=creds, http_options=types.HttpOptions(**options))


def make_storage_client(connection: dict[str, Any], creds: Any) -> Any:
    """A google-cloud-storage client (``STORAGE_EMULATOR_HOST`` is honoured by the library)."""
    from google.cloud import storage

    return storage.Client(project=connection["project"], credentials=creds)
