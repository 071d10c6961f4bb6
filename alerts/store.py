"""Data access for alarms: raise or repeat, clear, and the audit trail of each transition.

Functions take a keyword-only connection and do not commit. ``raise_alarm`` is one statement
against the partial unique index ``alarms_one_active``: two workers raising the same alarm at
once end with one alarm whose count is two, never with two alarms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from alerts.models import AlarmKind, Subject, Trigger

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class RaiseResult:
    alarm_id: int
    created: bool
    severity_raised: bool


def _at(trigger: Trigger) -> datetime:
    return datetime.fromtimestamp(trigger.at_ms / 1000, tz=UTC)


def raise_alarm(*, conn: Conn, trigger: Trigger, actor: str = "alerts") -> RaiseResult:
    """Open an alarm, or count a repeat on the active one (raising its severity if higher).

    Lock the active alarm if there is one; otherwise insert, and if a concurrent transaction
    inserted first (the unique index says so), lock and update that one instead.
    """
    params = {
        "kind": trigger.kind.value,
        "severity": int(trigger.severity),
        "subject_kind": trigger.subject.kind,
        "subject_id": trigger.subject.id,
        "device_id": trigger.device_id,
        "title": trigger.title,
        "evidence": Jsonb(trigger.evidence),
        "at": _at(trigger),
        "site": trigger.site_uid,
    }
    while True:
        active = conn.execute(
            """SELECT id, severity FROM alarms
               WHERE subject_kind = %(subject_kind)s AND subject_id = %(subject_id)s
                 AND kind = %(kind)s AND state IN ('open', 'acknowledged')
               FOR UPDATE""",
            params,
        ).fetchone()
        if active is not None:
            alarm_id, before = int(active[0]), int(active[1])
            higher = int(trigger.severity) > before
            conn.execute(
                """UPDATE alarms SET occurrences = occurrences + 1,
                       last_seen_at = greatest(last_seen_at, %(at)s),
                       severity = greatest(severity, %(severity)s),
                       title = CASE WHEN %(higher)s THEN %(title)s ELSE title END,
                       evidence = CASE WHEN %(higher)s THEN %(evidence)s ELSE evidence END
                   WHERE id = %(id)s""",
                {**params, "id": alarm_id, "higher": higher},
            )
            action = "severity_raised" if higher else "repeated"
            result = RaiseResult(alarm_id=alarm_id, created=False, severity_raised=higher)
            break
        inserted = conn.execute(
            """INSERT INTO alarms (kind, severity, site_id, subject_kind, subject_id, device_id,
                                   title, evidence, first_seen_at, last_seen_at)
               SELECT %(kind)s, %(severity)s, s.id, %(subject_kind)s, %(subject_id)s,
                      %(device_id)s, %(title)s, %(evidence)s, %(at)s, %(at)s
               FROM sites s WHERE s.uid = %(site)s
               ON CONFLICT DO NOTHING
               RETURNING id""",
            params,
        ).fetchone()
        if inserted is not None:
            action = "raised"
            result = RaiseResult(alarm_id=int(inserted[0]), created=True, severity_raised=False)
            break
        if (
            conn.execute("SELECT 1 FROM sites WHERE uid = %s", (trigger.site_uid,)).fetchone()
            is None
        ):
            raise LookupError(f"site {trigger.site_uid!r} is not registered")
    record_event(
        conn=conn,
        alarm_id=result.alarm_id,
        actor=actor,
        action=action,
        detail={"severity": int(trigger.severity), "evidence": trigger.evidence},
    )
    return result


def clear_alarm(*, conn: Conn, trigger: Trigger, actor: str = "alerts") -> int | None:
    """The condition ended: an open alarm becomes ``cleared`` (kept on record). An alarm a
    person has acknowledged stays with that person until they resolve it."""
    row = conn.execute(
        """UPDATE alarms SET state = 'cleared', cleared_at = %s
           WHERE subject_kind = %s AND subject_id = %s AND kind = %s AND state = 'open'
           RETURNING id""",
        (_at(trigger), trigger.subject.kind, trigger.subject.id, trigger.kind.value),
    ).fetchone()
    if row is None:
        return None
    record_event(
        conn=conn,
        alarm_id=int(row[0]),
        actor=actor,
        action="cleared",
        detail={"evidence": trigger.evidence},
    )
    return int(row[0])


def active_last_seen(*, conn: Conn, kind: AlarmKind, subject: Subject) -> datetime | None:
    """When the active (open or acknowledged) alarm of this kind and subject was last seen;
    None without one. Lets a periodic check repeat an alarm only for a new occurrence rather
    than for every look at an unchanged condition."""
    row = conn.execute(
        """SELECT last_seen_at FROM alarms
           WHERE subject_kind = %s AND subject_id = %s AND kind = %s
             AND state IN ('open', 'acknowledged')""",
        (subject.kind, subject.id, kind.value),
    ).fetchone()
    return None if row is None else row[0]


def record_event(
    *, conn: Conn, alarm_id: int, actor: str, action: str, detail: dict[str, Any]
) -> None:
    conn.execute(
        "INSERT INTO alarm_events (alarm_id, actor, action, detail) VALUES (%s, %s, %s, %s)",
        (alarm_id, actor, action, Jsonb(detail)),
    )
