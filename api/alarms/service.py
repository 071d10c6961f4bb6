"""Alarm queries and transitions for one principal; every query carries ``api.scope.alarms``.

Functions take a keyword-only connection (autocommit; writers open their own transaction) and
the principal, and return API models, so the console's templates call them as the routes do.
A missing or invisible alarm is ``NotFound``; a transition the state does not allow is
``Conflict``; a transition the role may not make is ``Forbidden``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row

from alerts import lifecycle
from anxin.errors import Conflict, NotFound
from api import scope
from api.alarms.models import (
    AlarmDetail,
    AlarmEvent,
    AlarmPage,
    AlarmSummary,
    DeviceEventPoint,
    EnvPoint,
    HeartbeatPoint,
    Readings,
    VitalsPoint,
)
from api.db import Conn
from api.scope import Action, Principal

READINGS_AROUND = timedelta(minutes=5)
READINGS_CAP = 2000
MAX_PAGE = 200

SUMMARY_SELECT = sql.SQL("""
    SELECT a.id, a.kind, a.severity, a.state::text AS state, a.site_id, s.uid AS site_uid,
           s.name AS site_name, a.subject_kind, a.subject_id,
           CASE a.subject_kind
               WHEN 'resident' THEN (SELECT name FROM residents WHERE id = a.subject_id)
               WHEN 'location' THEN (SELECT name FROM locations WHERE id = a.subject_id)
               WHEN 'device' THEN (SELECT uid FROM devices WHERE id = a.subject_id)
           END AS subject_name,
           a.device_id, d.uid AS device_uid, a.title, a.occurrences, a.first_seen_at,
           a.last_seen_at, a.raised_at, a.acknowledged_at, a.acknowledged_by, a.resolved_at,
           a.resolved_by, a.outcome, a.note, a.cleared_at, a.silenced
    FROM alarms a
    JOIN sites s ON s.id = a.site_id
    LEFT JOIN devices d ON d.id = a.device_id""")


@dataclass(frozen=True)
class AlarmFilter:
    """List filters; all optional. ``before`` is the keyset cursor (an alarm id)."""

    site: str | None = None
    kinds: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    min_severity: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    limit: int = 50


def list_alarms(*, conn: Conn, principal: Principal, where: AlarmFilter) -> AlarmPage:
    """Newest first, at most ``where.limit`` (capped at 200) per page."""
    clauses: list[sql.Composable] = [scope.alarms(principal, "a")]
    params: dict[str, Any] = {}
    optional: list[tuple[str, object, sql.SQL]] = [
        ("site", where.site, sql.SQL("s.uid = %(site)s")),
        ("kinds", list(where.kinds) or None, sql.SQL("a.kind = ANY(%(kinds)s)")),
        ("states", list(where.states) or None, sql.SQL("a.state::text = ANY(%(states)s)")),
        ("min_severity", where.min_severity, sql.SQL("a.severity >= %(min_severity)s")),
        ("since", where.since, sql.SQL("a.raised_at >= %(since)s")),
        ("until", where.until, sql.SQL("a.raised_at < %(until)s")),
        ("before", where.before, sql.SQL("a.id < %(before)s")),
    ]
    for name, value, clause in optional:
        if value is not None:
            clauses.append(clause)
            params[name] = value
    limit = max(1, min(where.limit, MAX_PAGE))
    params["limit"] = limit + 1
    query = sql.SQL("{} WHERE {} ORDER BY a.id DESC LIMIT %(limit)s").format(
        SUMMARY_SELECT, sql.SQL(" AND ").join(clauses)
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, params).fetchall()
    items = [AlarmSummary.model_validate(row) for row in rows[:limit]]
    more = len(rows) > limit
    return AlarmPage(items=items, next_before=items[-1].id if more and items else None)


def get_summary(*, conn: Conn, principal: Principal, alarm_id: int) -> AlarmSummary:
    """One alarm the principal may see, or ``NotFound``."""
    query = sql.SQL("{} WHERE a.id = %(id)s AND {}").format(
        SUMMARY_SELECT, scope.alarms(principal, "a")
    )
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(query, {"id": alarm_id}).fetchone()
    if row is None:
        raise NotFound(f"no alarm {alarm_id} in your scope; list yours with GET /api/v1/alarms")
    return AlarmSummary.model_validate(row)


def summaries_by_id(
    *, conn: Conn, principal: Principal, alarm_ids: list[int]
) -> dict[int, AlarmSummary]:
    """The alarms among ``alarm_ids`` that the principal may see, by id."""
    query = sql.SQL("{} WHERE a.id = ANY(%(ids)s) AND {}").format(
        SUMMARY_SELECT, scope.alarms(principal, "a")
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, {"ids": alarm_ids}).fetchall()
    return {row["id"]: AlarmSummary.model_validate(row) for row in rows}


def get_detail(*, conn: Conn, principal: Principal, alarm_id: int) -> AlarmDetail:
    """The alarm with its evidence, its audit trail and its device's readings around it."""
    summary = get_summary(conn=conn, principal=principal, alarm_id=alarm_id)
    evidence_row = conn.execute("SELECT evidence FROM alarms WHERE id = %s", (alarm_id,)).fetchone()
    evidence: dict[str, Any] = evidence_row[0] if evidence_row else {}
    with conn.cursor(row_factory=dict_row) as cur:
        event_rows = cur.execute(
            """SELECT id, at, actor, action, detail FROM alarm_events
               WHERE alarm_id = %s ORDER BY id""",
            (alarm_id,),
        ).fetchall()
    if not scope.sees_audit_detail(principal):
        event_rows = [{**row, "detail": {}} for row in event_rows]
    return AlarmDetail(
        **summary.model_dump(),
        evidence=evidence,
        events=[AlarmEvent.model_validate(row) for row in event_rows],
        readings=readings_around(conn=conn, device_id=summary.device_id, at=summary.first_seen_at),
    )


def readings_around(*, conn: Conn, device_id: int | None, at: datetime) -> Readings:
    """The device's readings from 5 minutes before to 5 minutes after ``at``: what the person
    deciding sees as the alarm's chart."""
    start, end = at - READINGS_AROUND, at + READINGS_AROUND
    series: dict[str, list[dict[str, Any]]] = {}
    queries = {
        "vitals": sql.SQL(
            "SELECT ts, hr, spo2, skin_temp_c, motion_g, steps, battery, worn FROM reading_vitals"
        ),
        "env": sql.SQL("SELECT ts, smoke_obs, temp_c, lel_pct, co_ppm, battery FROM reading_env"),
        "heartbeats": sql.SQL("SELECT ts, interval_s, battery, rssi FROM reading_heartbeat"),
        "device_events": sql.SQL("SELECT ts, event, code, detail FROM device_event"),
    }
    window = sql.SQL(" WHERE device_id = %s AND ts BETWEEN %s AND %s ORDER BY ts, seq LIMIT %s")
    with conn.cursor(row_factory=dict_row) as cur:
        for name, select in queries.items():
            series[name] = (
                cur.execute(select + window, (device_id, start, end, READINGS_CAP)).fetchall()
                if device_id is not None
                else []
            )
    return Readings(
        start=start,
        end=end,
        vitals=[VitalsPoint.model_validate(r) for r in series["vitals"]],
        env=[EnvPoint.model_validate(r) for r in series["env"]],
        heartbeats=[HeartbeatPoint.model_validate(r) for r in series["heartbeats"]],
        device_events=[DeviceEventPoint.model_validate(r) for r in series["device_events"]],
    )


def acknowledge(*, conn: Conn, principal: Principal, alarm_id: int, via: str) -> AlarmSummary:
    """The principal has the alarm: escalation stops. ``Conflict`` if it is not open."""
    scope.require(principal, Action.ACKNOWLEDGE)
    with conn.transaction():
        _lock_visible(conn=conn, principal=principal, alarm_id=alarm_id)
        if not lifecycle.acknowledge(conn=conn, alarm_id=alarm_id, by=principal.actor, via=via):
            _refuse(conn=conn, principal=principal, alarm_id=alarm_id, verb="acknowledge")
    return get_summary(conn=conn, principal=principal, alarm_id=alarm_id)


def resolve(
    *, conn: Conn, principal: Principal, alarm_id: int, outcome: str, note: str, via: str
) -> AlarmSummary:
    """Close the alarm with its outcome and a note. ``Conflict`` if it is already closed."""
    scope.require(principal, Action.RESOLVE)
    with conn.transaction():
        _lock_visible(conn=conn, principal=principal, alarm_id=alarm_id)
        done = lifecycle.resolve(
            conn=conn,
            alarm_id=alarm_id,
            by=principal.actor,
            outcome=outcome,
            note=note or None,
            via=via,
        )
        if not done:
            _refuse(conn=conn, principal=principal, alarm_id=alarm_id, verb="resolve")
    return get_summary(conn=conn, principal=principal, alarm_id=alarm_id)


def silence(
    *, conn: Conn, principal: Principal, alarm_id: int, reason: str, via: str
) -> AlarmSummary:
    """Stop notifying about an active alarm (it stays on record and on the board)."""
    scope.require(principal, Action.SILENCE)
    with conn.transaction():
        _lock_visible(conn=conn, principal=principal, alarm_id=alarm_id)
        if not lifecycle.silence(
            conn=conn, alarm_id=alarm_id, by=principal.actor, reason=reason, via=via
        ):
            _refuse(conn=conn, principal=principal, alarm_id=alarm_id, verb="silence")
    return get_summary(conn=conn, principal=principal, alarm_id=alarm_id)


def _lock_visible(*, conn: Conn, principal: Principal, alarm_id: int) -> None:
    query = sql.SQL("SELECT 1 FROM alarms a WHERE a.id = %s AND {} FOR UPDATE").format(
        scope.alarms(principal, "a")
    )
    if conn.execute(query, (alarm_id,)).fetchone() is None:
        raise NotFound(f"no alarm {alarm_id} in your scope; list yours with GET /api/v1/alarms")


def _refuse(*, conn: Conn, principal: Principal, alarm_id: int, verb: str) -> None:
    alarm = get_summary(conn=conn, principal=principal, alarm_id=alarm_id)
    by = alarm.resolved_by or alarm.acknowledged_by
    who = f" by {by}" if by and alarm.state in ("acknowledged", "resolved") else ""
    silenced = " and already silenced" if alarm.silenced and verb == "silence" else ""
    raise Conflict(
        f"cannot {verb} alarm {alarm_id}: it is {alarm.state}{who}{silenced}; "
        "reload it to see its current state"
    )
