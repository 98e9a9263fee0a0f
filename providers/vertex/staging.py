"""Stage tuning files in Cloud Storage, deduplicated by content hash.

Objects are named ``[PREFIX/]ftx/SHA256/ROLE.jsonl``: the name says what is inside, so a
re-run (or another recipe with the same data) finds the object and skips the upload when it
holds exactly those bytes (GCS's own MD5 of the object, else ftx's ``ftx_sha256`` metadata,
plus the size). Uploads are conditional (``ifGenerationMatch``), so two launches racing to
stage the same file cannot clobber each other.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from ftx.hosted import ProviderError, TransientError, UploadFile

from .errors import call, translate

SHA_KEY = "ftx_sha256"
CONTENT_TYPE = "application/jsonl"


def object_name(prefix: str, file: UploadFile) -> str:
    return f"{prefix.strip('/') + '/' if prefix.strip('/') else ''}ftx/{file.sha256}/{file.role}.jsonl"


def _holds(blob: Any, file: UploadFile) -> bool:
    """Whether an existing object holds exactly ``file``'s bytes."""
    if blob is None or blob.size != len(file.content):
        return False
    if blob.md5_hash:  # computed by Cloud Storage itself; absent only on composite objects
        return blob.md5_hash == base64.b64encode(hashlib.md5(file.content).digest()).decode()
    return (blob.metadata or {}).get(SHA_KEY) == file.sha256


def stage(client: Any, bucket: str, prefix: str, file: UploadFile, label: str = "Cloud Storage") -> tuple[str, bool]:
    """Upload ``file`` unless an identical object exists; return (``gs://`` URI, uploaded?)."""
    from google.api_core import exceptions as core_errors

    name = object_name(prefix, file)
    uri = f"gs://{bucket}/{name}"
    handle = client.bucket(bucket)
    existing = call(label, handle.get_blob, name, retry=None)
    if _holds(existing, file):
        return uri, False
    blob = handle.blob(name)
    blob.metadata = {SHA_KEY: file.sha256, "ftx_role": file.role, "ftx_examples": str(file.examples)}
    generation = existing.generation if existing is not None else 0
    try:
        blob.upload_from_string(file.content, content_type=CONTENT_TYPE, if_generation_match=generation, retry=None)
    except core_errors.PreconditionFailed:
        # Someone staged this name meanwhile: fine if it is the same bytes (it should be).
        if _holds(call(label, handle.get_blob, name, retry=None), file):
            return uri, False
        raise TransientError(f"{uri} changed while uploading it") from None
    except core_errors.NotFound:
        raise ProviderError(label, f"staging bucket gs://{bucket} does not exist (or these credentials cannot "
                                   "see it)", "bucket_not_found",
                            hint=f"create it in the job's region (gcloud storage buckets create gs://{bucket} "
                                 "--location=REGION) or point FTX_VERTEX_BUCKET at another") from None
    except Exception as exc:
        translated = translate(exc, label)
        if translated is exc:
            raise
        raise translated from None
    return uri, True


def read(client: Any, uri: str, label: str = "Cloud Storage") -> bytes | None:
    """An object's bytes, or ``None`` when it does not exist."""
    bucket, _, name = uri.removeprefix("gs://").partition("/")
    blob = call(label, client.bucket(bucket).get_blob, name, retry=None)
    return None if blob is None else call(label, blob.download_as_bytes, retry=None)
