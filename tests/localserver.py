"""The life cycle shared by the tests' HTTP servers: one on 127.0.0.1, in a thread of its own.

class MyServer(LocalServer):
    def __init__(self) -> None:
        ...  # the state the handler reads
        super().__init__(self._handler_class())
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LocalServer:
    """Start with ``with Server() as server:``; stopped, with every handler released, on exit."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        # Set on exit: handlers that hang on purpose wait on it, so stopping is immediate.
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        # A short poll interval keeps shutdown (and so every test) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
