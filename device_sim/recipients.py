"""The people's phones, simulated: a real HTTP server on loopback that takes the platform's
webhook notifications and answers 200, so that scenarios can expect "duty staff notified"
and see a delivered message, not just a queued one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Inbox(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Silent: the delivery records in the database are what scenarios check."""


@contextmanager
def recipients_inbox() -> Iterator[str]:
    """Serve until the block ends; yields the webhook URL to give the simulated people."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Inbox)
    thread = threading.Thread(target=server.serve_forever, name="recipients", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/notify"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
