"""Escalation policies and silences (maintenance windows) over HTTP, on top of
``alerts.policies`` and ``alerts.silences``.

Functions take a keyword-only connection and do not commit. Silences are scoped: a duty member
silences and sees only the devices and locations of their sites.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.rows import dict_row
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alerts import policies, silences
from anxin.errors import Conflict, NotFound
from api import scope
from api.db import Conn
from api.registry.models import Name, Uid
from api.scope import Action, Principal


class StepModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: int = Field(ge=1, le=20)
    delay_s: float = Field(ge=0, le=7 * 86400, description="seconds after the alarm was raised")
    audiences: list[str] = Field(
        min_length=1,
        description="duty, supervisor, manager, family, community, town, district, operator",
    )


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site: Uid | None = Field(None, description="site uid; null: the default for every site")
    alarm_kind: Name | None = Field(None, description="null: any kind")
    min_severity: int = Field(1, ge=1, le=4)
    reminder_s: float | None = Field(None, gt=0, le=86400)
    note: str = Field("", max_length=500)
    steps: list[StepModel] = Field(min_length=1, max_length=20)


class PolicyOut(BaseModel):
    id: int
    site_uid: str | None
    alarm_kind: str | None
    min_severity: int
    reminder_s: float | None
    note: str
    steps: list[StepModel]


def list_policies(*, conn: Conn) -> list[PolicyOut]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """SELECT p.id, s.uid AS site_uid, p.alarm_kind, p.min_severity, p.reminder_s, p.note,
                      coalesce(jsonb_agg(jsonb_build_object('tier', e.tier, 'delay_s', e.delay_s,
                                                            'audiences', e.audiences)
                                         ORDER BY e.tier) FILTER (WHERE e.tier IS NOT NULL),
                               '[]') AS steps
               FROM escalation_policies p
               LEFT JOIN sites s ON s.id = p.site_id
               LEFT JOIN escalation_steps e ON e.policy_id = p.id
               GROUP BY p.id, s.uid ORDER BY s.uid NULLS FIRST, p.alarm_kind NULLS FIRST,
                        p.min_severity"""
        ).fetchall()
    return [PolicyOut.model_validate(row) for row in rows]


def set_policy(*, conn: Conn, body: PolicyIn) -> PolicyOut:
    """Create or replace the policy of (site, kind, minimum severity)."""
    site_id = None
    if body.site is not None:
        row = conn.execute("SELECT id FROM sites WHERE uid = %s", (body.site,)).fetchone()
        if row is None:
            raise NotFound(f"no site {body.site!r}; create it first")
        site_id = int(row[0])
    policy_id = policies.set_policy(
        conn=conn,
        steps=[policies.Step(s.tier, s.delay_s, tuple(s.audiences)) for s in body.steps],
        site_id=site_id,
        alarm_kind=body.alarm_kind,
        min_severity=body.min_severity,
        reminder_s=body.reminder_s,
        note=body.note,
    )
    return next(p for p in list_policies(conn=conn) if p.id == policy_id)


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device: Uid | None = Field(None, description="device uid (or give site and location)")
    site: Uid | None = Field(None, description="site uid of the location")
    location: Name | None = Field(None, description="location name at the site")
    reason: Name
    starts_at: AwareDatetime | None = Field(None, description="default: now")
    ends_at: AwareDatetime


class SilenceOut(BaseModel):
    id: int
    site_id: int
    device_id: int | None
    location_id: int | None
    reason: str
    owner: str
    starts_at: datetime
    ends_at: datetime


def _target(*, conn: Conn, principal: Principal, body: SilenceIn) -> tuple[int | None, int | None]:
    if (body.device is None) == (body.location is None):
        raise Conflict("silence one device (device) or one location (site and location)")
    if body.device is not None:
        query = sql.SQL("SELECT d.id FROM devices d WHERE d.uid = %s AND {}").format(
            scope.devices(principal, "d.site_id", "d.resident_id")
        )
        row = conn.execute(query, (body.device,)).fetchone()
        if row is None:
            raise NotFound(f"no device {body.device!r} in your scope")
        return int(row[0]), None
    query = sql.SQL(
        """SELECT l.id FROM locations l JOIN sites s ON s.id = l.site_id
           WHERE s.uid = %s AND l.name = %s AND {}"""
    ).format(scope.sites(principal, "s.id"))
    row = conn.execute(query, (body.site, body.location)).fetchone()
    if row is None:
        raise NotFound(f"no location {body.location!r} at site {body.site!r} in your scope")
    return None, int(row[0])


def create_silence(*, conn: Conn, principal: Principal, body: SilenceIn) -> SilenceOut:
    """Silence a device or location of the principal's sites until ``ends_at``."""
    scope.require(principal, Action.SILENCE)
    device_id, location_id = _target(conn=conn, principal=principal, body=body)
    made = silences.create_silence(
        conn=conn,
        reason=body.reason,
        owner=principal.actor,
        ends_at=body.ends_at,
        device_id=device_id,
        location_id=location_id,
        starts_at=body.starts_at,
    )
    return SilenceOut.model_validate(made, from_attributes=True)


def list_silences(*, conn: Conn, principal: Principal, site: str | None) -> list[SilenceOut]:
    """Silences in force or still to come, of the sites the principal may see."""
    query = sql.SQL(
        """SELECT x.id, x.site_id, x.device_id, x.location_id, x.reason, x.owner, x.starts_at,
                  x.ends_at
           FROM silences x JOIN sites s ON s.id = x.site_id
           WHERE x.ended_at IS NULL AND x.ends_at > now() AND {} AND {}
           ORDER BY x.ends_at"""
    ).format(
        scope.people(principal, "x.site_id"),
        sql.SQL("TRUE") if site is None else sql.SQL("s.uid = %(site)s"),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows: list[dict[str, Any]] = cur.execute(query, {"site": site}).fetchall()
    return [SilenceOut.model_validate(row) for row in rows]


def end_silence(*, conn: Conn, principal: Principal, silence_id: int) -> None:
    scope.require(principal, Action.SILENCE)
    query = sql.SQL("SELECT 1 FROM silences x WHERE x.id = %s AND {}").format(
        scope.people(principal, "x.site_id")
    )
    if conn.execute(query, (silence_id,)).fetchone() is None:
        raise NotFound(f"no silence {silence_id} in your scope")
    if not silences.end_silence(conn=conn, silence_id=silence_id, by=principal.actor):
        raise Conflict(f"silence {silence_id} has already ended")
