"""What the console shows that no API service reads: each resident's current status (their
bracelet's newest vitals and their open alarms) and the time zone pages are shown in.

Functions take a keyword-only connection and a principal; every query carries ``api.scope``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from psycopg import sql
from psycopg.rows import class_row
from pydantic import BaseModel

from api import scope
from api.db import Conn
from api.scope import Principal

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
"""For a user who sees no site yet."""


class ResidentStatus(BaseModel):
    """A resident as the person on duty or the family sees them now."""

    id: int
    uid: str
    name: str
    site_id: int
    site_uid: str
    site_name: str
    site_kind: str
    location: str | None
    bracelet_id: int | None
    bracelet_uid: str | None
    seen_at: datetime | None
    hr: int | None
    spo2: int | None
    battery: int | None
    worn: bool | None
    open_alarms: int
    top_severity: int | None

    @property
    def condition(self) -> str:
        """``alarm``, ``no_bracelet``, ``no_data``, ``not_worn`` or ``ok`` (a catalog key)."""
        if self.open_alarms:
            return "alarm"
        if self.bracelet_id is None:
            return "no_bracelet"
        if self.seen_at is None:
            return "no_data"
        if self.worn is False:
            return "not_worn"
        return "ok"


_STATUS = sql.SQL(
    """SELECT r.id, r.uid, r.name, s.id AS site_id, s.uid AS site_uid, s.name AS site_name,
              s.kind::text AS site_kind, l.name AS location,
              b.id AS bracelet_id, b.uid AS bracelet_uid,
              v.ts AS seen_at, v.hr, v.spo2, v.battery, v.worn,
              coalesce(o.n, 0) AS open_alarms, o.top AS top_severity
       FROM residents r
       JOIN sites s ON s.id = r.site_id
       LEFT JOIN locations l ON l.id = r.location_id
       LEFT JOIN LATERAL (
           SELECT d.id, d.uid FROM devices d
           WHERE d.resident_id = r.id AND d.kind = 'bracelet' AND d.active
           ORDER BY d.id LIMIT 1
       ) b ON TRUE
       LEFT JOIN LATERAL (
           SELECT ts, hr, spo2, battery, worn FROM reading_vitals
           WHERE device_id = b.id ORDER BY ts DESC, seq DESC LIMIT 1
       ) v ON TRUE
       LEFT JOIN LATERAL (
           SELECT count(*) AS n, max(a.severity) AS top FROM alarms a
           WHERE a.state IN ('open', 'acknowledged')
             AND ((a.subject_kind = 'resident' AND a.subject_id = r.id) OR a.device_id = b.id)
       ) o ON TRUE
       WHERE r.active AND {visible} AND {narrow}
       ORDER BY s.uid, l.name NULLS LAST, r.name
       LIMIT 2000"""
)


def resident_statuses(
    *, conn: Conn, principal: Principal, site_ids: list[int] | None = None, uid: str | None = None
) -> list[ResidentStatus]:
    """Residents the principal may see, optionally only those of ``site_ids`` or one ``uid``."""
    narrow: list[sql.Composable] = [sql.SQL("TRUE")]
    params: dict[str, object] = {}
    if site_ids is not None:
        narrow.append(sql.SQL("r.site_id = ANY(%(sites)s::bigint[])"))
        params["sites"] = site_ids
    if uid is not None:
        narrow.append(sql.SQL("r.uid = %(uid)s"))
        params["uid"] = uid
    query = _STATUS.format(
        visible=scope.residents(principal, "r.id", "r.site_id"),
        narrow=sql.SQL(" AND ").join(narrow),
    )
    with conn.cursor(row_factory=class_row(ResidentStatus)) as cur:
        return cur.execute(query, params).fetchall()


def display_zone(*, conn: Conn, principal: Principal) -> ZoneInfo:
    """The time zone of the first site the principal sees: the console shows times as the
    people at that site read their clocks (a region rarely spans zones)."""
    query = sql.SQL("SELECT s.timezone FROM sites s WHERE {} ORDER BY s.id LIMIT 1").format(
        scope.sites(principal, "s.id")
    )
    row = conn.execute(query).fetchone()
    try:
        return ZoneInfo(row[0]) if row else DEFAULT_ZONE
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_ZONE
