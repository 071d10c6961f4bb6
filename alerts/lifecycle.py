"""What people do to an alarm: acknowledge it, resolve it, silence it.

Each transition is one conditional UPDATE (so two people acting at once cannot both win), an
``alarm_events`` row naming who, when (the row's time), what and through which channel
(``via``: console, api, link, ...), and, for anything that means "a person has it", the
cancellation of the escalation steps still to come. Functions return False when the alarm is
not in a state that allows the transition; they do not commit (the caller does).
"""

from __future__ import annotations

from typing import Any

import psycopg

from alerts import timers
from alerts.store import record_event

Conn = psycopg.Connection[Any]

OUTCOMES = ("real", "false_alarm", "test")


def _require_person(by: str, via: str) -> None:
    if not by.strip():
        raise ValueError("name the person acting on the alarm (by must not be empty)")
    if not via.strip():
        raise ValueError("say through which channel the person acted (via must not be empty)")


def acknowledge(*, conn: Conn, alarm_id: int, by: str, via: str) -> bool:
    """An open alarm becomes acknowledged by ``by``; pending escalation tiers are cancelled.
    False if the alarm is not open (already acknowledged, resolved, cleared or unknown)."""
    _require_person(by, via)
    row = conn.execute(
        """UPDATE alarms SET state = 'acknowledged', acknowledged_at = clock_timestamp(),
               acknowledged_by = %s
           WHERE id = %s AND state = 'open'
           RETURNING extract(epoch FROM acknowledged_at - raised_at)::float8""",
        (by, alarm_id),
    ).fetchone()
    if row is None:
        return False
    cancelled = timers.cancel_pending(conn=conn, alarm_id=alarm_id)
    record_event(
        conn=conn,
        alarm_id=alarm_id,
        actor=by,
        action="acknowledged",
        detail={"via": via, "after_s": round(row[0], 3), "cancelled": cancelled},
    )
    return True


def resolve(
    *, conn: Conn, alarm_id: int, by: str, outcome: str, note: str | None, via: str = "api"
) -> bool:
    """An open or acknowledged alarm is closed by ``by`` with an outcome (real, false_alarm,
    test) and a note. Resolving an open alarm also counts as its acknowledgement, so response
    times stay defined. False if the alarm is already closed or unknown."""
    _require_person(by, via)
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)} (got {outcome!r})")
    row = conn.execute(
        """UPDATE alarms a SET state = 'resolved', resolved_at = clock_timestamp(),
               resolved_by = %(by)s, outcome = %(outcome)s, note = %(note)s,
               acknowledged_at = coalesce(a.acknowledged_at, clock_timestamp()),
               acknowledged_by = coalesce(a.acknowledged_by, %(by)s)
           FROM (SELECT id, state FROM alarms WHERE id = %(id)s FOR UPDATE) before
           WHERE a.id = before.id AND before.state IN ('open', 'acknowledged')
           RETURNING before.state::text""",
        {"by": by, "outcome": outcome, "note": note, "id": alarm_id},
    ).fetchone()
    if row is None:
        return False
    cancelled = timers.cancel_pending(conn=conn, alarm_id=alarm_id)
    record_event(
        conn=conn,
        alarm_id=alarm_id,
        actor=by,
        action="resolved",
        detail={
            "via": via,
            "outcome": outcome,
            "note": note,
            "was": row[0],
            "cancelled": cancelled,
        },
    )
    return True


def silence(*, conn: Conn, alarm_id: int, by: str, reason: str, via: str = "api") -> bool:
    """Stop notifying about one open or acknowledged alarm (e.g. a known sensor test that
    began before its maintenance window was entered). The alarm stays active and on record;
    pending escalation is cancelled. False if it is closed, unknown or already silenced.
    Maintenance windows for future alarms are ``alerts.silences``."""
    _require_person(by, via)
    if not reason.strip():
        raise ValueError("give the reason for silencing the alarm")
    row = conn.execute(
        """UPDATE alarms SET silenced = true
           WHERE id = %s AND state IN ('open', 'acknowledged') AND NOT silenced RETURNING id""",
        (alarm_id,),
    ).fetchone()
    if row is None:
        return False
    cancelled = timers.cancel_pending(conn=conn, alarm_id=alarm_id)
    record_event(
        conn=conn,
        alarm_id=alarm_id,
        actor=by,
        action="silenced",
        detail={"via": via, "reason": reason, "cancelled": cancelled},
    )
    return True
