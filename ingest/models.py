"""Typed values passed between the ingest consumer, decoder and writer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from anxin.wire_checks import Reason


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
