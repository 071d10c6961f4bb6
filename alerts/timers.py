"""Data access for escalation timers: the planned steps of each alarm's escalation.

A timer is one step due at a time: a tier (``reminder`` 0), or the n-th reminder (``tier`` 1,
``reminder`` n; its audiences are filled in when it fires: everyone reached before it). Schedulers
claim due timers together with their alarm row (``FOR UPDATE OF t, a SKIP LOCKED``): any number
of schedulers run side by side, a scheduler never waits on a lock (so it cannot deadlock with an
acknowledgement, which locks the alarm and then cancels its timers), and a timer whose alarm is
being acknowledged right now is simply skipped and then found cancelled.

Functions take a keyword-only connection and do not commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Timer:
    id: int
    alarm_id: int
    policy_id: int | None
    tier: int
    reminder: int
    audiences: tuple[str, ...]
    repeat_s: float | None
    due_at: datetime


@dataclass(frozen=True)
class DueTimer:
    """A claimed timer and the state of its alarm at the moment of the claim."""

    timer: Timer
    alarm_state: str
    silenced: bool


_COLUMNS = "t.id, t.alarm_id, t.policy_id, t.tier, t.reminder, t.audiences, t.repeat_s, t.due_at"


def _timer(row: Sequence[Any]) -> Timer:
    return Timer(
        id=row[0],
        alarm_id=row[1],
        policy_id=row[2],
        tier=row[3],
        reminder=row[4],
        audiences=tuple(row[5]),
        repeat_s=row[6],
        due_at=row[7],
    )


def add(
    *,
    conn: Conn,
    alarm_id: int,
    policy_id: int | None,
    tier: int,
    audiences: Sequence[str],
    due_at: datetime,
    reminder: int = 0,
    repeat_s: float | None = None,
) -> Timer | None:
    """Plan one step; ``None`` if that step of that alarm is already planned."""
    row = conn.execute(
        f"""INSERT INTO escalation_timers AS t
                (alarm_id, policy_id, tier, reminder, audiences, repeat_s, due_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (alarm_id, tier, reminder) WHERE state <> 'cancelled' DO NOTHING
            RETURNING {_COLUMNS}""",
        (alarm_id, policy_id, tier, reminder, list(audiences), repeat_s, due_at),
    ).fetchone()
    return None if row is None else _timer(row)


def claim_due(*, conn: Conn, limit: int) -> list[DueTimer]:
    """Lock up to ``limit`` pending timers due by the database clock, earliest first."""
    rows = conn.execute(
        f"""SELECT {_COLUMNS}, a.state::text, a.silenced
            FROM escalation_timers t JOIN alarms a ON a.id = t.alarm_id
            WHERE t.state = 'pending' AND t.due_at <= clock_timestamp()
            ORDER BY t.due_at
            LIMIT %s
            FOR UPDATE OF t, a SKIP LOCKED""",
        (limit,),
    ).fetchall()
    return [DueTimer(timer=_timer(r), alarm_state=r[8], silenced=r[9]) for r in rows]


def mark_fired(*, conn: Conn, timer_id: int, audiences: Sequence[str]) -> datetime:
    """Record that a timer fired now, to whom; returns when (the database clock)."""
    row = conn.execute(
        """UPDATE escalation_timers SET state = 'fired', fired_at = clock_timestamp(),
               audiences = %s
           WHERE id = %s RETURNING fired_at""",
        (list(audiences), timer_id),
    ).fetchone()
    if row is None:
        raise LookupError(f"escalation timer {timer_id} does not exist")
    fired_at: datetime = row[0]
    return fired_at


def cancel(*, conn: Conn, timer_id: int) -> None:
    conn.execute("UPDATE escalation_timers SET state = 'cancelled' WHERE id = %s", (timer_id,))


def cancel_pending(*, conn: Conn, alarm_id: int) -> list[str]:
    """Cancel what is still to come for an alarm; returns what, e.g. ["tier 3", "reminder 2"]."""
    rows = conn.execute(
        """UPDATE escalation_timers SET state = 'cancelled'
           WHERE alarm_id = %s AND state = 'pending' RETURNING tier, reminder""",
        (alarm_id,),
    ).fetchall()
    return [f"reminder {r}" if r else f"tier {t}" for t, r in sorted(rows, key=lambda x: x[::-1])]


def audiences_before(*, conn: Conn, alarm_id: int, due_at: datetime) -> list[str]:
    """Everyone reached by tiers due before ``due_at`` (the audience of a reminder then), in
    the order first reached."""
    rows = conn.execute(
        """SELECT x.audience FROM escalation_timers t,
                  unnest(t.audiences) WITH ORDINALITY AS x (audience, n)
           WHERE t.alarm_id = %s AND t.state = 'fired' AND t.reminder = 0 AND t.due_at < %s
           ORDER BY t.tier, x.n""",
        (alarm_id, due_at),
    ).fetchall()
    return list(dict.fromkeys(str(r[0]) for r in rows))


def last_reminder(*, conn: Conn, alarm_id: int) -> int:
    row = conn.execute(
        "SELECT coalesce(max(reminder), 0) FROM escalation_timers WHERE alarm_id = %s",
        (alarm_id,),
    ).fetchone()
    return int(row[0]) if row else 0


def highest_fired_tier(*, conn: Conn, alarm_id: int) -> int:
    row = conn.execute(
        "SELECT coalesce(max(tier), 0) FROM escalation_timers WHERE alarm_id = %s "
        "AND state = 'fired'",
        (alarm_id,),
    ).fetchone()
    return int(row[0]) if row else 0


def seconds_to_next_due(*, conn: Conn) -> float | None:
    """How long until the earliest pending timer is due (negative: overdue); ``None``: none."""
    row = conn.execute(
        """SELECT extract(epoch FROM min(due_at) - clock_timestamp())::float8
           FROM escalation_timers WHERE state = 'pending'"""
    ).fetchone()
    return None if row is None or row[0] is None else float(row[0])
