"""The lifecycle both fake servers share: a threaded HTTP/1.1 server on 127.0.0.1."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LoopbackHTTPServer:
    """Start, stop, ``with`` and ``port`` for a fake that answers requests in ``_handle``.

    ``methods`` are the HTTP methods handed to ``_handle`` (others get the standard 501);
    ``_stopping`` runs first in ``stop``, to release requests that are being held open.
    """

    methods: tuple[str, ...] = ("GET",)

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None

    def _handle(self, req: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def _stopping(self) -> None:
        """Called at the start of ``stop``."""

    def start(self) -> Self:
        fake = self

        def handle(handler: BaseHTTPRequestHandler) -> None:
            fake._handle(handler)

        attributes: dict[str, Any] = {
            "protocol_version": "HTTP/1.1",
            "log_message": lambda handler, *args: None,
        }
        attributes.update({f"do_{method}": handle for method in self.methods})
        handler = type("Handler", (BaseHTTPRequestHandler,), attributes)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # shutdown() waits for the serving loop to look at its flag: every 50 ms, not the
        # default 0.5 s that every test using a fake server paid once more at its end.
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self._stopping()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])
