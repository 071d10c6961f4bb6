"""The device registry as the wire checks see it: an in-memory index re-read from the database.

Every message is checked against it, so a lookup must be a dict access, not a query. Ingest and
detection each keep one and re-read it on the same terms, so both judge a message the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

from anxin import wire
from anxin.consumer import Message

logger = logging.getLogger(__name__)

BRACELET_KINDS = frozenset({"vitals", "heartbeat", "event", "impact"})
SENSOR_KINDS = frozenset({"env", "heartbeat", "event"})


@dataclass(frozen=True, slots=True)
class DeviceRef:
    id: int
    site_uid: str
    kind: str
    active: bool

    def accepts(self, reading_kind: str) -> bool:
        """A bracelet sends vitals and impacts; a fire or gas sensor sends environment readings."""
        allowed = BRACELET_KINDS if self.kind == "bracelet" else SENSOR_KINDS
        return reading_kind in allowed


class DeviceIndex:
    """uid → DeviceRef, re-read at most once per ``refresh_s`` whatever arrives.

    A changed registry entry (a device activated, deactivated, moved) is therefore seen within
    ``refresh_s``. A device registered moments ago must not wait that long, yet a flood from an
    unknown or forged uid must not re-read the registry per batch: a uid missing from the index
    costs one probe of the highest device id instead, and only a registration since the last
    read (the id grew) re-reads at once. A uid missing from a read that started after its
    message arrived is truly unknown (a device is registered before it sends), so it costs
    nothing at all.
    """

    def __init__(self, *, refresh_s: float = 10.0) -> None:
        self._by_uid: dict[str, DeviceRef] = {}
        self._max_id = 0
        self._loaded_at_ns = 0
        self._refresh_ns = int(refresh_s * 1e9)
        self.loads = 0
        """Registry reads so far: the cost the throttle bounds, for logs and tests."""

    def get(self, uid: str) -> DeviceRef | None:
        return self._by_uid.get(uid)

    def __len__(self) -> int:
        return len(self._by_uid)

    def refresh(self, messages: Iterable[Message], *, conn: psycopg.Connection[Any]) -> bool:
        """Re-read the registry if it is due or a device was registered since; True if read.

        Does not commit: the caller owns the transaction.
        """
        if time.monotonic_ns() - self._loaded_at_ns >= self._refresh_ns or (
            self._names_missing_uid(messages) and _max_device_id(conn) > self._max_id
        ):
            self.load(conn=conn)
            return True
        return False

    def load(self, *, conn: psycopg.Connection[Any]) -> None:
        """Read every device, active or not (an inactive one is refused by name, not unknown)."""
        started = time.monotonic_ns()
        rows = conn.execute(
            """SELECT d.uid, d.id, s.uid, d.kind::text, d.active
               FROM devices d JOIN sites s ON s.id = d.site_id"""
        ).fetchall()
        self._by_uid = {
            uid: DeviceRef(id=did, site_uid=site, kind=kind, active=active)
            for uid, did, site, kind, active in rows
        }
        self._max_id = max((ref.id for ref in self._by_uid.values()), default=0)
        self._loaded_at_ns = started
        self.loads += 1
        logger.debug("device index loaded: %d devices", len(self._by_uid))

    def _names_missing_uid(self, messages: Iterable[Message]) -> bool:
        for message in messages:
            if message.received_ns < self._loaded_at_ns:
                continue
            uid = wire.device_in_topic(message.topic)
            if uid is not None and uid not in self._by_uid:
                return True
        return False


def _max_device_id(conn: psycopg.Connection[Any]) -> int:
    """The highest device id: an index-only lookup, so probing per batch stays cheap."""
    row = conn.execute("SELECT coalesce(max(id), 0) FROM devices").fetchone()
    return int(row[0]) if row else 0
