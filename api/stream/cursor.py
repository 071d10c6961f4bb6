"""Reading ``alarm_events`` in id order without skipping a row that commits late.

Event ids come from a sequence when the row is inserted, but transactions commit in their own
order: id 11 may be visible while id 10 is still being written. A reader that jumped to 11
would never see 10. So the cursor only moves over a gap (ids missing below a visible one)
after it has stayed open for ``GAP_GRACE_S`` (the writer rolled back, or the sequence skipped
after a crash); until then it stops before the gap and looks again. Every id at or below
``last_id`` has thus been delivered or given up, which is what makes ``Last-Event-ID``
resume exact.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from psycopg import sql
from pydantic import BaseModel

from api import scope
from api.alarms.models import AlarmSummary
from api.alarms.service import summaries_by_id
from api.db import Conn
from api.scope import Principal

GAP_GRACE_S = 3.0
"""How long a missing id may still be an open transaction. Alarm transactions take
milliseconds; three seconds covers a loaded server, and a true gap (rollback) costs one such
pause."""
BATCH = 500


class StreamEvent(BaseModel):
    """The data of one server-sent event; ``alarm`` is the alarm as it is now."""

    event_id: int
    at: datetime
    actor: str
    action: str
    alarm: AlarmSummary


@dataclass
class Cursor:
    """Position of one stream. ``gap`` is (first missing id, when it was first seen)."""

    last_id: int
    gap: tuple[int, float] | None = field(default=None)

    def gap_wait_s(self, now: float) -> float | None:
        """Seconds until the current gap may be skipped; None when there is none."""
        if self.gap is None:
            return None
        return max(0.0, self.gap[1] + GAP_GRACE_S - now)


@dataclass(frozen=True)
class Batch:
    events: list[StreamEvent]
    more: bool


def start_position(*, conn: Conn) -> int:
    """Where a stream without ``Last-Event-ID`` starts: before the events of the last few
    seconds, so that one written by a transaction still open at connect time is not lost
    (a client sees those few again; they carry the alarm's current state, so that is harmless)."""
    row = conn.execute(
        """SELECT id FROM alarm_events WHERE at < now() - make_interval(secs => %s)
           ORDER BY id DESC LIMIT 1""",
        (GAP_GRACE_S,),
    ).fetchone()
    return int(row[0]) if row else 0


def read(*, conn: Conn, principal: Principal, cursor: Cursor, now: float | None = None) -> Batch:
    """The next events after the cursor that the principal may see, advancing the cursor
    over every row (seen or not) up to the first gap still within its grace."""
    now = time.monotonic() if now is None else now
    rows = conn.execute(
        sql.SQL(
            """SELECT e.id, e.alarm_id, e.at, e.actor, e.action, {visible}
               FROM alarm_events e JOIN alarms a ON a.id = e.alarm_id
               WHERE e.id > %s ORDER BY e.id LIMIT %s"""
        ).format(visible=scope.alarms(principal, "a")),
        (cursor.last_id, BATCH),
    ).fetchall()
    taken = []
    for row in rows:
        event_id = int(row[0])
        expected = cursor.last_id + 1
        if event_id > expected:
            if cursor.gap is None or cursor.gap[0] != expected:
                cursor.gap = (expected, now)
            if now - cursor.gap[1] < GAP_GRACE_S:
                break
        cursor.gap = None
        cursor.last_id = event_id
        if row[5]:
            taken.append(row)
    alarms = summaries_by_id(
        conn=conn, principal=principal, alarm_ids=sorted({int(r[1]) for r in taken})
    )
    events = [
        StreamEvent(event_id=r[0], at=r[2], actor=r[3], action=r[4], alarm=alarms[r[1]])
        for r in taken
        if r[1] in alarms
    ]
    return Batch(events=events, more=len(rows) == BATCH and cursor.gap is None)
