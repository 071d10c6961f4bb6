"""One LISTEN connection per API process wakes every open stream when an alarm event commits.

The trigger on ``alarm_events`` sends ``NOTIFY anxin_alarm_events`` at commit. A notification
carries no data the streams rely on: it only says "look now". Streams also look every
``api_stream_poll_s`` seconds, so a notification lost while this connection was down only
delays events, and after a reconnect every stream is woken once to catch up.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg

logger = logging.getLogger(__name__)

CHANNEL = "anxin_alarm_events"
_RETRY_S = (0.5, 1.0, 2.0, 5.0)


class Wakeup:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._waiters: set[asyncio.Event] = set()
        self._task: asyncio.Task[None] | None = None

    def subscribe(self) -> asyncio.Event:
        """An event that is set whenever new alarm events may be there; clear it before
        reading, so that a notification arriving during the read is not lost."""
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        return waiter

    def unsubscribe(self, waiter: asyncio.Event) -> None:
        self._waiters.discard(waiter)

    def wake_all(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._listen(), name="anxin-listen")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self.wake_all()

    async def _listen(self) -> None:
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=5
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    failures = 0
                    self.wake_all()
                    async for _ in conn.notifies():
                        self.wake_all()
            except psycopg.Error as exc:
                delay = _RETRY_S[min(failures, len(_RETRY_S) - 1)]
                failures += 1
                logger.warning("alarm-event listener lost (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
