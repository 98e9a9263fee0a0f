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
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class GcsEmulator:
    def __init__(self, bucket: str = "ftx-staging", project: str = "ftx-test"):
        from gcp_storage_emulator.server import create_server

        logging.getLogger("gcp_storage_emulator").setLevel(logging.WARNING)
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
            from google.auth.credentials import AnonymousCredentials
            from google.cloud import storage

            previous = os.environ.get("STORAGE_EMULATOR_HOST")
            os.environ["STORAGE_EMULATOR_HOST"] = self.url
            try:
                self._client = storage.Client(project=self.project, credentials=AnonymousCredentials())
            finally:
                if previous is None:
                    os.environ.pop("STORAGE_EMULATOR_HOST", None)
                else:
                    os.environ["STORAGE_EMULATOR_HOST"] = previous
        return self._client

    def _blob(self, uri: str) -> Any:
        if not uri.startswith("gs://"):
            raise ValueError(f"not a gs:// URI: {uri}")
        bucket, _, name = uri[len("gs://"):].partition("/")
        return self.client().bucket(bucket).get_blob(name)

    def read(self, uri: str) -> bytes | None:
        """The object's content, or ``None`` when it does not exist."""
        blob = self._blob(uri)
        return None if blob is None else blob.download_as_bytes()

    def blob(self, uri: str) -> Any:
        """The object's metadata (``generation``, ``md5_hash``, ``metadata``...) or ``None``."""
        return self._blob(uri)

    def objects(self, prefix: str = "") -> list[str]:
        return [b.name for b in self.client().list_blobs(self.bucket, prefix=prefix or None)]
