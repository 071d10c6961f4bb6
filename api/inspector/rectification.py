"""Hazard rectification as a closed loop: found -> assigned -> rectified -> verified.

Each step is one conditional UPDATE (it changes the row only from the states that allow the
step), written with its event in one transaction, so two people acting at once cannot both
win. A failed verification sends the item back to 'assigned' with the verifier's note; the
person who rectified may not verify their own work. Overdue is computed against ``now``: an
item not yet rectified whose deadline has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from anxin.errors import Conflict, NotFound
from api.inspector.filters import effective_sites
from api.inspector.models import (
    Rectification,
    RectificationAssign,
    RectificationCreate,
    RectificationFilter,
    RectificationState,
    RectificationVerify,
)

Conn = psycopg.Connection[Any]

_SELECT = """
SELECT r.id, r.site_id, s.uid AS site_uid, s.name AS site_name, r.location_id,
       l.name AS location, r.alarm_id, r.title, r.description, r.level, r.state::text AS state,
       r.found_at, r.found_by, r.responsible, r.deadline, r.assigned_at, r.assigned_by,
       r.rectified_at, r.rectified_by, r.rectification_note, r.verified_at, r.verified_by,
       r.verification_note,
       coalesce(r.state IN ('found', 'assigned') AND r.deadline < %(now)s, false) AS overdue
FROM rectifications r
JOIN sites s ON s.id = r.site_id
LEFT JOIN locations l ON l.id = r.location_id
"""


def get(*, conn: Conn, scope: Sequence[int], item_id: int, now: datetime) -> Rectification:
    """One record; outside the scope it does not exist for the caller."""
    with conn.cursor(row_factory=class_row(Rectification)) as cur:
        row = cur.execute(
            _SELECT + " WHERE r.id = %(id)s AND r.site_id = ANY(%(sites)s::bigint[])",
            {"id": item_id, "sites": sorted(set(scope)), "now": now},
        ).fetchone()
    if row is None:
        raise NotFound(f"rectification {item_id} does not exist or is outside your sites")
    return row


def list_records(
    *,
    conn: Conn,
    scope: Sequence[int],
    spec: RectificationFilter,
    now: datetime,
    limit: int = 500,
) -> list[Rectification]:
    """Records in scope, overdue first, then by deadline and newest found."""
    conditions = [sql.SQL("r.site_id = ANY(%(sites)s::bigint[])")]
    params: dict[str, Any] = {
        "sites": effective_sites(scope, spec.sites),
        "now": now,
        "limit": limit,
    }
    if spec.states:
        conditions.append(sql.SQL("r.state = ANY(%(states)s::rectification_state[])"))
        params["states"] = [s.value for s in spec.states]
    if spec.overdue_only:
        conditions.append(sql.SQL("r.state IN ('found', 'assigned') AND r.deadline < %(now)s"))
    query = sql.SQL(
        _SELECT
        + """ WHERE {}
        ORDER BY coalesce(r.state IN ('found', 'assigned') AND r.deadline < %(now)s, false)
                 DESC,
                 r.deadline NULLS LAST, r.found_at DESC, r.id DESC
        LIMIT %(limit)s"""
    ).format(sql.SQL(" AND ").join(conditions))
    with conn.cursor(row_factory=class_row(Rectification)) as cur:
        return cur.execute(query, params).fetchall()


def create(
    *,
    conn: Conn,
    scope: Sequence[int],
    item: RectificationCreate,
    actor: str,
    now: datetime,
) -> Rectification:
    """Record a hazard found at a site in scope; the room and the alarm, if named, must be of
    the same site."""
    if item.site_id not in set(scope):
        raise NotFound(f"site {item.site_id} does not exist or is outside your sites")
    with conn.transaction():
        if item.location_id is not None:
            _belongs(conn, "locations", item.location_id, item.site_id, "location")
        if item.alarm_id is not None:
            _belongs(conn, "alarms", item.alarm_id, item.site_id, "alarm")
        row = conn.execute(
            """INSERT INTO rectifications
                   (site_id, location_id, alarm_id, title, description, level, found_at,
                    found_by)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (
                item.site_id,
                item.location_id,
                item.alarm_id,
                item.title,
                item.description,
                item.level.value,
                now,
                actor,
            ),
        ).fetchone()
        assert row is not None
        _event(conn, row[0], actor, "found", item.description, now)
    return get(conn=conn, scope=scope, item_id=row[0], now=now)


def assign(
    *,
    conn: Conn,
    scope: Sequence[int],
    item_id: int,
    step: RectificationAssign,
    actor: str,
    now: datetime,
) -> Rectification:
    """Name the responsible person and the deadline (again, to reassign an open item)."""
    note = f"{step.responsible}, by {step.deadline.isoformat()}"
    _transition(
        conn,
        scope,
        item_id,
        allowed=(RectificationState.FOUND, RectificationState.ASSIGNED),
        assignments=sql.SQL(
            """state = 'assigned', responsible = %(responsible)s, deadline = %(deadline)s,
               assigned_at = %(now)s, assigned_by = %(actor)s"""
        ),
        params={"responsible": step.responsible, "deadline": step.deadline},
        event=("assigned", note),
        actor=actor,
        now=now,
    )
    return get(conn=conn, scope=scope, item_id=item_id, now=now)


def rectify(
    *, conn: Conn, scope: Sequence[int], item_id: int, note: str, actor: str, now: datetime
) -> Rectification:
    """The responsible side reports the hazard fixed, saying what was done."""
    _transition(
        conn,
        scope,
        item_id,
        allowed=(RectificationState.ASSIGNED,),
        assignments=sql.SQL(
            """state = 'rectified', rectified_at = %(now)s, rectified_by = %(actor)s,
               rectification_note = %(note)s"""
        ),
        params={"note": note},
        event=("rectified", note),
        actor=actor,
        now=now,
    )
    return get(conn=conn, scope=scope, item_id=item_id, now=now)


def verify(
    *,
    conn: Conn,
    scope: Sequence[int],
    item_id: int,
    step: RectificationVerify,
    actor: str,
    now: datetime,
) -> Rectification:
    """Close the loop, or send the item back to 'assigned' when the fix does not hold."""
    current = get(conn=conn, scope=scope, item_id=item_id, now=now)
    if current.rectified_by == actor:
        raise Conflict(
            f"rectification {item_id} was rectified by {actor}: someone else must verify it"
        )
    if step.passed:
        assignments = sql.SQL(
            """state = 'verified', verified_at = %(now)s, verified_by = %(actor)s,
               verification_note = %(note)s"""
        )
        event = ("verified", step.note)
    else:
        assignments = sql.SQL(
            """state = 'assigned', verification_note = %(note)s,
               rectified_at = NULL, rectified_by = NULL"""
        )
        event = ("rejected", step.note)
    _transition(
        conn,
        scope,
        item_id,
        allowed=(RectificationState.RECTIFIED,),
        assignments=assignments,
        params={"note": step.note},
        event=event,
        actor=actor,
        now=now,
    )
    return get(conn=conn, scope=scope, item_id=item_id, now=now)


def _transition(
    conn: Conn,
    scope: Sequence[int],
    item_id: int,
    *,
    allowed: tuple[RectificationState, ...],
    assignments: sql.Composable,
    params: dict[str, Any],
    event: tuple[str, str],
    actor: str,
    now: datetime,
) -> None:
    query = sql.SQL(
        """UPDATE rectifications SET {}
           WHERE id = %(id)s AND site_id = ANY(%(sites)s::bigint[])
             AND state = ANY(%(allowed)s::rectification_state[])
           RETURNING id"""
    ).format(assignments)
    values = {
        **params,
        "id": item_id,
        "sites": sorted(set(scope)),
        "allowed": [s.value for s in allowed],
        "actor": actor,
        "now": now,
    }
    with conn.transaction():
        if conn.execute(query, values).fetchone() is None:
            current = get(conn=conn, scope=scope, item_id=item_id, now=now)
            steps = " or ".join(s.value for s in allowed)
            raise Conflict(
                f"rectification {item_id} is {current.state.value}; this step needs it "
                f"{steps}: reload it and take the step its state allows"
            )
        _event(conn, item_id, actor, event[0], event[1], now)


def _event(conn: Conn, item_id: int, actor: str, action: str, note: str, now: datetime) -> None:
    conn.execute(
        """INSERT INTO rectification_events (rectification_id, at, actor, action, note)
           VALUES (%s, %s, %s, %s, %s)""",
        (item_id, now, actor, action, note),
    )


def _belongs(conn: Conn, table: str, ident: int, site_id: int, what: str) -> None:
    row = conn.execute(
        sql.SQL("SELECT 1 FROM {} WHERE id = %s AND site_id = %s").format(sql.Identifier(table)),
        (ident, site_id),
    ).fetchone()
    if row is None:
        raise NotFound(f"{what} {ident} does not exist at site {site_id}; check the id")
