"""A Fireworks AI tuned model's files, for ``ftx jobs download``: asked for, then fetched unsigned-in.

Fireworks serves a model as several files: ``GET /v1/accounts/A/models/M:getDownloadEndpoint``
answers ``{"filenameToSignedUrls": {file name: signed URL}}`` (the response shape is the official
SDK's ``ModelGetDownloadEndpointResponse``: package ``fireworks-ai`` 1.2.30,
``fireworks/types/model_get_download_endpoint_response.py``, its only field; the call is
``fireworks/resources/models.py``, ``Models.get_download_endpoint``, a GET with an optional
``readMask``). Each signed URL is a storage host's and carries its own credentials in its query
string: it is fetched with a client of its own, **without** the Fireworks ``Authorization``
header (the API key never reaches the storage host), and it is never recorded or shown whole
(:func:`shown`: scheme, host and path only). A tuned model's files are its LoRA adapter.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterator
from urllib.parse import urlsplit

from ftx.hosted import ProviderError, RemoteFile, RemoteJob, TransientError, retry_after

if TYPE_CHECKING:  # pragma: no cover
    from .provider import FireworksProvider

MODEL = re.compile(r"accounts/[A-Za-z0-9_.-]+/models/[A-Za-z0-9_.-]+")
CHUNK = 1 << 20


def output_model(job: RemoteJob) -> str | None:
    """The job's tuned model, ``accounts/A/models/M`` (its ``outputModel``)."""
    return job.fine_tuned_model or job.artifacts.get("fireworks_model") or None


def refusal(job: RemoteJob) -> str | None:
    model = output_model(job)
    if not model:
        return f"job {job.id} names no output model (outputModel): Fireworks kept no tuned model to download"
    if not MODEL.fullmatch(model):
        return f"job {job.id}'s output model {model!r} is not a model name (accounts/ACCOUNT/models/MODEL)"
    return None


def shown(url: str) -> str:
    """A signed URL as it may be shown: its query string (the signature) and fragment dropped."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


def list_files(provider: "FireworksProvider", job: RemoteJob, step: int | None) -> list[RemoteFile]:
    """The model's files, each streamed from its signed URL when the core asks for it."""
    label = provider.label
    if step is not None:
        raise ProviderError(label, f"a tuned model's files are its final adapter only, not a step's (--step {step})")
    why = refusal(job)
    if why is not None:
        raise ProviderError(label, why)
    model = output_model(job)
    answer = provider.request(provider._send, "GET", f"/v1/{model}:getDownloadEndpoint",
                              what=f"asking {label} where the files of {model} are")
    urls = (answer or {}).get("filenameToSignedUrls") if isinstance(answer, dict) else None
    if not isinstance(urls, dict) or not urls:
        raise ProviderError(label, f"{model} has no files to download (getDownloadEndpoint listed none)")
    files = []
    for name, url in sorted(urls.items()):
        if not isinstance(url, str) or urlsplit(url).scheme not in ("https", "http"):
            raise ProviderError(label, f"getDownloadEndpoint gave {name!r} no http(s) URL")
        files.append(RemoteFile(str(name), lambda url=url, name=name: stream(provider, url, str(name))))
    return files


def stream(provider: "FireworksProvider", url: str, name: str) -> Iterator[bytes]:
    """One file from its signed URL, a MiB at a time; opening it is one request (retried on its
    own), a stream that breaks off is a :class:`TransientError` (the core fetches that file again)."""
    import httpx

    where = f"{name} from {shown(url)}"
    response = provider.request(_open, provider, url, where, what=f"fetching {where}")
    try:
        yield from response.iter_bytes(CHUNK)
    except httpx.TransportError as exc:
        raise TransientError(f"the download of {where} broke off: {type(exc).__name__}") from None
    finally:
        response.close()


def _open(provider: "FireworksProvider", url: str, where: str) -> Any:
    """GET the signed URL with the storage client (no Authorization header); its errors worded
    here, never with the URL's query string."""
    import httpx

    client = provider.storage_client()
    try:
        response = client.send(client.build_request("GET", url), stream=True)
    except httpx.TimeoutException:
        raise TransientError(f"the storage host did not answer in time for {where}") from None
    except httpx.TransportError as exc:
        raise TransientError(f"cannot reach the storage host for {where}: {type(exc).__name__}") from None
    if response.is_error:
        status = response.status_code
        response.close()
        if status in (408, 429) or status >= 500:
            raise TransientError(f"the storage host answered HTTP {status} for {where}", status=status,
                                 retry_after=retry_after(response.headers))
        hint = "its signed URL may have expired: run the same command again" if status in (400, 401, 403) else None
        raise ProviderError(provider.label, f"the storage host refused {where} (HTTP {status})", f"http_{status}",
                            hint=hint, status=status)
    return response
