"""Silences (maintenance windows): alarms of a device or a location are recorded but not sent.

A sensor test or a repair sets off alarms nobody needs to run for; a silence with a reason, an
owner and an expiry keeps them on record (``alarms.silenced``, event 'silenced') without paging
anyone. A silence on a location covers the locations inside it (a floor covers its rooms) and
every device placed there. The expiry is required: a forgotten silence must end by itself.

Functions take a keyword-only connection and do not commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from anxin.errors import Conflict, NotFound

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Silence:
    id: int
    site_id: int
    device_id: int | None
    location_id: int | None
    reason: str
    owner: str
    starts_at: datetime
    ends_at: datetime


_COLUMNS = "s.id, s.site_id, s.device_id, s.location_id, s.reason, s.owner, s.starts_at, s.ends_at"


def create_silence(
    *,
    conn: Conn,
    reason: str,
    owner: str,
    ends_at: datetime,
    device_id: int | None = None,
    location_id: int | None = None,
    starts_at: datetime | None = None,
) -> Silence:
    """Silence a device or a location (one of them) from ``starts_at`` (default now) until
    ``ends_at``; the site is the device's or location's."""
    if (device_id is None) == (location_id is None):
        raise Conflict("a silence covers exactly one device or one location; name one of them")
    if not reason.strip() or not owner.strip():
        raise Conflict("a silence needs a reason and an owner, so the audit says why and who")
    table = "devices" if device_id is not None else "locations"
    site = conn.execute(
        f"SELECT site_id FROM {table} WHERE id = %s", (device_id or location_id,)
    ).fetchone()
    if site is None:
        raise NotFound(f"no {table[:-1]} with id {device_id or location_id}; check the registry")
    with conn.cursor(row_factory=class_row(Silence)) as cur:
        row = cur.execute(
            f"""INSERT INTO silences AS s (site_id, device_id, location_id, reason, owner,
                                          starts_at, ends_at)
                SELECT %(site)s, %(device)s, %(location)s, %(reason)s, %(owner)s,
                       coalesce(%(starts)s, now()), %(ends)s
                WHERE %(ends)s > greatest(coalesce(%(starts)s, now()), now())
                RETURNING {_COLUMNS}""",
            {
                "site": site[0],
                "device": device_id,
                "location": location_id,
                "reason": reason,
                "owner": owner,
                "starts": starts_at,
                "ends": ends_at,
            },
        ).fetchone()
    if row is None:
        raise Conflict("a silence must end in the future and after it starts; check ends_at")
    return row


def end_silence(*, conn: Conn, silence_id: int, by: str) -> bool:
    """End (or cancel, if it has not begun) a silence early; it stays on record with who
    ended it. False if it had already ended."""
    row = conn.execute(
        """UPDATE silences SET ended_at = now(), ended_by = %s
           WHERE id = %s AND ended_at IS NULL AND ends_at > now() RETURNING id""",
        (by, silence_id),
    ).fetchone()
    return row is not None


def silence_for_alarm(*, conn: Conn, alarm_id: int) -> Silence | None:
    """The active silence covering an alarm's device or location (or a location around it),
    the one ending last if several do."""
    with conn.cursor(row_factory=class_row(Silence)) as cur:
        return cur.execute(
            f"""WITH RECURSIVE a AS (
                    SELECT al.site_id, al.device_id,
                           CASE WHEN al.subject_kind = 'location' THEN al.subject_id END AS loc,
                           d.location_id AS device_loc
                    FROM alarms al LEFT JOIN devices d ON d.id = al.device_id
                    WHERE al.id = %s),
                places AS (
                    SELECT l.id, l.parent_id FROM locations l, a
                    WHERE l.id IN (a.loc, a.device_loc)
                    UNION
                    SELECT l.id, l.parent_id FROM locations l JOIN places p ON l.id = p.parent_id)
                SELECT {_COLUMNS} FROM silences s, a
                WHERE s.site_id = a.site_id AND s.starts_at <= now() AND s.ends_at > now()
                  AND s.ended_at IS NULL
                  AND (s.device_id = a.device_id OR s.location_id IN (SELECT id FROM places))
                ORDER BY s.ends_at DESC LIMIT 1""",
            (alarm_id,),
        ).fetchone()


def active_silences(*, conn: Conn, site_id: int) -> list[Silence]:
    with conn.cursor(row_factory=class_row(Silence)) as cur:
        return cur.execute(
            f"""SELECT {_COLUMNS} FROM silences s
                WHERE s.site_id = %s AND s.starts_at <= now() AND s.ends_at > now()
                  AND s.ended_at IS NULL
                ORDER BY s.ends_at""",
            (site_id,),
        ).fetchall()
