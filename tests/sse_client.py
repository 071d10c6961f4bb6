"""A small server-sent-events client for the tests: reads a stream in a thread and hands out
parsed events through a queue."""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx


@dataclass(frozen=True)
class Event:
    id: int
    event: str
    data: dict[str, Any]


class SSEClient:
    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.status: int | None = None
        self._connected = threading.Event()
        self.ended = threading.Event()
        """Set when the server closed the stream (or the client did)."""
        self._client = httpx.Client(timeout=httpx.Timeout(30, connect=5))
        self._stop = False
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()
        if not self._connected.wait(10):
            raise AssertionError("the stream did not answer within 10 s")

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                self.status = response.status_code
                self._connected.set()
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if self._stop:
                        return
                    if not line:
                        if "data" in fields:
                            self.events.put(
                                Event(
                                    id=int(fields["id"]),
                                    event=fields.get("event", "message"),
                                    data=json.loads(fields["data"]),
                                )
                            )
                        fields = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        fields[name] = value.removeprefix(" ")
        except httpx.HTTPError:
            pass
        finally:
            self._connected.set()
            self.ended.set()

    def take(self, count: int, *, timeout_s: float = 10.0) -> list[Event]:
        """Exactly ``count`` events, waiting up to ``timeout_s`` for each."""
        return [self.events.get(timeout=timeout_s) for _ in range(count)]

    def nothing_for(self, seconds: float) -> bool:
        try:
            self.events.get(timeout=seconds)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self._stop = True
        self._client.close()
        self._thread.join(5)
