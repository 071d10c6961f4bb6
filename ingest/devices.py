"""The device registry as ingest sees it: an in-memory index reloaded from the database.

Messages are checked against it on every read, so it must be a dict lookup, not a query; a device
registered moments ago is found by one reload before its message is called unknown.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import psycopg

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
    """uid → DeviceRef, reloaded every ``refresh_s`` and when a message names an unknown uid.

    A uid missing from a load that started after its message arrived is truly unknown (a device
    must be registered before it sends), so each message costs at most one reload.
    """

    def __init__(self, *, refresh_s: float = 10.0, min_reload_gap_s: float = 0.2) -> None:
        self._by_uid: dict[str, DeviceRef] = {}
        self.loaded_at_ns = 0
        self._refresh_ns = int(refresh_s * 1e9)
        self._min_gap_ns = int(min_reload_gap_s * 1e9)

    def get(self, uid: str) -> DeviceRef | None:
        return self._by_uid.get(uid)

    def __len__(self) -> int:
        return len(self._by_uid)

    def stale(self) -> bool:
        return time.monotonic_ns() - self.loaded_at_ns >= self._refresh_ns

    def wait_for_reload_slot(self) -> None:
        """Space reloads out, so a flood of forged uids cannot hammer the database."""
        remaining = self.loaded_at_ns + self._min_gap_ns - time.monotonic_ns()
        if remaining > 0:
            time.sleep(remaining / 1e9)

    def load(self, *, conn: psycopg.Connection[Any]) -> None:
        started = time.monotonic_ns()
        rows = conn.execute(
            """SELECT d.uid, d.id, s.uid, d.kind::text, d.active
               FROM devices d JOIN sites s ON s.id = d.site_id"""
        ).fetchall()
        self._by_uid = {
            uid: DeviceRef(id=did, site_uid=site, kind=kind, active=active)
            for uid, did, site, kind, active in rows
        }
        self.loaded_at_ns = started
        logger.debug("device index loaded: %d devices", len(self._by_uid))
