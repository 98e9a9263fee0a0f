"""Cloud Storage on loopback for tests: ``gcp-storage-emulator`` in-process, in memory.

    with GcsEmulator(bucket="ftx-staging") as gcs:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.url)   # the real client then talks to it
        ...
        assert gcs.read("gs://ftx-staging/ftx/<sha>/train.jsonl") == b"..."

The emulator is a single-threaded HTTP server in a daemon thread; :meth:`wipe` empties it
between tests (keeping the buckets) so one instance can serve a whole test session.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any, Callable


def storage_client(url: str, project: str = "ftx-test") -> Any:
    """An anonymous google-cloud-storage client for the emulator at ``url``."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = url
    try:
        return storage.Client(project=project, credentials=AnonymousCredentials())
    finally:
        if previous is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = previous


def get_blob(client: Any, uri: str) -> Any:
    """The object at ``gs://BUCKET/NAME`` (metadata loaded), or ``None`` when it does not exist."""
    if not uri.startswith("gs://"):
        raise ValueError(f"not a gs:// URI: {uri}")
    bucket, _, name = uri[len("gs://"):].partition("/")
    return client.bucket(bucket).get_blob(name)


def remote_reader(url: str) -> Callable[[str], bytes | None]:
    """``read(uri)`` for the emulator at ``url``: an object's bytes, or ``None``."""
    client = storage_client(url)

    def read(uri: str) -> bytes | None:
        blob = get_blob(client, uri)
        return None if blob is None else blob.download_as_bytes()

    return read


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GcsEmulator:
    def __init__(self, bucket: str = "ftx-staging", project: str = "ftx-test"):
        from gcp_storage_emulator import server as emulator
        from gcp_storage_emulator.server import create_server

        logging.getLogger("gcp_storage_emulator").setLevel(logging.WARNING)
        # Its handler writes headers and body separately: without TCP_NODELAY each answer
        # waits out the client's delayed ACK (~40 ms).
        emulator.RequestHandler.disable_nagle_algorithm = True
        self.bucket, self.project = bucket, project
        self.port = free_port()
        self.server = create_server("127.0.0.1", self.port, in_memory=True, default_bucket=bucket)
        self._client: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "GcsEmulator":
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> "GcsEmulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wipe(self) -> None:
        """Delete every object (the buckets stay)."""
        self.server.wipe(keep_buckets=True)

    def client(self) -> Any:
        """A google-cloud-storage client bound to this emulator (anonymous)."""
        if self._client is None:
            self._client = storage_client(self.url, self.project)
        return self._client

    def read(self, uri: str) -> bytes | None:
        """The object's content, or ``None`` when it does not exist."""
        blob = get_blob(self.client(), uri)
        return None if blob is None else blob.download_as_bytes()

    def blob(self, uri: str) -> Any:
        """The object's metadata (``generation``, ``md5_hash``, ``metadata``...) or ``None``."""
        return get_blob(self.client(), uri)

    def objects(self, prefix: str = "") -> list[str]:
        return [b.name for b in self.client().list_blobs(self.bucket, prefix=prefix or None)]
