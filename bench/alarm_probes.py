"""What ``anxin bench alarms`` listens with: a real webhook receiver and a real SSE client.

Both record the wall-clock arrival of the first message about each benchmark alarm, keyed by
the alarm's subject (one resident per injected SOS), so latency is arrival minus publish on
one machine clock.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class WebhookReceiver:
    """An HTTP server on a loopback port; ``arrivals[path][subject_id]`` is the first arrival of
    a correctly signed message for that subject on that path."""

    def __init__(self, secret: str) -> None:
        self.arrivals: dict[str, dict[int, float]] = {}
        self.bad_signatures = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.time()
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                signed = hmac.compare_digest(self.headers.get("X-Anxin-Signature", ""), expected)
                self.send_response(200 if signed else 401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver._record(self.path, body, at, signed)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _record(self, path: str, body: bytes, at: float, signed: bool) -> None:
        with self._lock:
            if not signed:
                self.bad_signatures += 1
                return
            subject = json.loads(body)["alarm"]["subject"]["id"]
            self.arrivals.setdefault(path, {}).setdefault(int(subject), at)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class SseClient:
    """Follows ``GET /api/v1/stream`` with an API key; ``arrivals[subject_id]`` is when the
    'raised' event of an alarm of ``kind`` arrived."""

    def __init__(self, host: str, port: int, api_key: str, kind: str) -> None:
        self.arrivals: dict[int, float] = {}
        self.error: str | None = None
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._host, self._port, self._key, self._kind = host, port, api_key, kind
        self._conn: http.client.HTTPConnection | None = None
        self._thread = threading.Thread(target=self._follow, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _follow(self) -> None:
        try:
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=30)
            self._conn.request(
                "GET",
                "/api/v1/stream",
                headers={"X-API-Key": self._key, "Accept": "text/event-stream"},
            )
            response = self._conn.getresponse()
            if response.status != 200:
                self.error = f"HTTP {response.status}: {response.read(300)!r}"
                return
            self.connected.set()
            self._read(response.readline)
        except (OSError, http.client.HTTPException) as exc:
            if not self._stop.is_set():
                self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.connected.set()

    def _read(self, readline: Callable[[], bytes]) -> None:
        while not self._stop.is_set():
            line = readline()
            if not line:
                return
            if not line.startswith(b"data:"):
                continue
            at = time.time()
            event = json.loads(line[5:])
            alarm = event.get("alarm", {})
            if event.get("action") == "raised" and alarm.get("kind") == self._kind:
                self.arrivals.setdefault(int(alarm["subject_id"]), at)

    def stop(self) -> None:
        self._stop.set()
        if self._conn is not None and self._conn.sock is not None:
            self._conn.sock.close()
        if self._thread.is_alive():  # never started when the platform failed to come up
            self._thread.join(timeout=5)
