"""Typed values passed between the ingest consumer, decoder and writer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum


class Reason(StrEnum):
    """Why a message or reading was dead-lettered; stable strings, used in metrics and queries."""

    OVERSIZE = "oversize"
    BAD_TOPIC = "bad_topic"
    UNKNOWN_DEVICE = "unknown_device"
    INACTIVE_DEVICE = "inactive_device"
    IDENTITY_MISMATCH = "identity_mismatch"
    MALFORMED_JSON = "malformed_json"
    INVALID_PAYLOAD = "invalid_payload"
    OUT_OF_RANGE = "out_of_range"
    KIND_NOT_ALLOWED = "kind_not_allowed"
    CLOCK_SKEW = "clock_skew"
    STORAGE_REJECTED = "storage_rejected"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    device_uid: str | None
    reason: Reason
    detail: str
    payload: bytes


Row = tuple[object, ...]


@dataclass(slots=True)
class Staged:
    """Rows ready for storage, by table, and the dead letters of one batch of messages."""

    rows: dict[str, list[Row]] = field(default_factory=lambda: defaultdict(list))
    dead: list[DeadLetter] = field(default_factory=list)

    def row_count(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def extend(self, other: Staged) -> None:
        for table, rows in other.rows.items():
            self.rows[table].extend(rows)
        self.dead.extend(other.dead)
