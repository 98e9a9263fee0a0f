"""The HTTP plumbing the fake provider servers share: a threaded server on 127.0.0.1 that runs in
the background and stops by itself after ``lifetime`` seconds, so a stray test cannot leak it."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class LoopbackServer:
    """Subclasses call :meth:`_serve` at the end of ``__init__`` with their request handler class;
    the handler reaches the fake through its ``server_fake`` attribute."""

    def _serve(self, handler: type[BaseHTTPRequestHandler], port: int = 0, lifetime: float | None = 120.0) -> None:
        self._release = threading.Event()  # set on stop: releases requests a test is holding
        fake = self

        class Handler(handler):  # type: ignore[misc, valid-type]
            server_fake = fake

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._timer = threading.Timer(lifetime or 10 ** 9, self.stop)
        self._timer.daemon = True
        self._stopped = False

    def start(self) -> Any:
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._release.set()
        self._timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
