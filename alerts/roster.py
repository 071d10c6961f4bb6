"""Who can be told about an alarm: the duty roster, family, community workers, managers.

An escalation step names audiences; ``audience`` turns one into people with their raw channel
lists (parsed by ``alerts.outbox``):

- ``duty``, ``supervisor``, ``manager``: active staff of the alarm's site whose shift covers
  now with that role. If nobody of that role has a shift now (a site without a roster, or a
  gap in it), the staff whose standing role (``staff.role``) it is are told: better a person
  off shift than nobody. Managers also include the site's ``manager`` contacts.
- ``family``: family contacts of the residents concerned, in priority order (1 first). The
  residents concerned are the alarm's resident, the wearer of its device, the residents of its
  location, and for a home of a senior living alone every resident of that home (a gas leak
  there concerns the senior).
- ``community``, ``town``, ``district``: the community contacts of the site at that level
  (village/community → town → district), site-wide or for one of the residents concerned.
- ``operator`` is not in the registry: ``alerts.outbox`` sends it to the configured channels.

Inactive staff and contacts are never told, and inactive residents are not concerned: staff
who left, contacts whose number is dead and residents who moved out are deactivated rather than
deleted, because past notifications name them.

Functions take a keyword-only connection and do not commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from anxin.errors import Conflict, NotFound

Conn = psycopg.Connection[Any]

STAFF_ROLES = ("duty", "supervisor", "manager")
COMMUNITY_LEVELS = ("community", "town", "district")
AUDIENCES = (*STAFF_ROLES, "family", *COMMUNITY_LEVELS, "operator")


@dataclass(frozen=True)
class Person:
    """A recipient: ``who`` goes into the notification (kind, id, name, role or relation);
    ``channels`` is the registry's raw channel list."""

    who: dict[str, Any]
    channels: object


def add_shift(
    *, conn: Conn, staff_id: int, role: str, starts_at: datetime, ends_at: datetime
) -> int:
    """Put a staff member on the roster of their site."""
    if role not in STAFF_ROLES:
        raise Conflict(f"shift role must be one of {', '.join(STAFF_ROLES)} (got {role!r})")
    if ends_at <= starts_at:
        raise Conflict("a shift must end after it starts")
    row = conn.execute(
        """INSERT INTO shifts (staff_id, role, starts_at, ends_at)
           SELECT id, %s, %s, %s FROM staff WHERE id = %s RETURNING id""",
        (role, starts_at, ends_at, staff_id),
    ).fetchone()
    if row is None:
        raise NotFound(f"no staff member with id {staff_id}; add them to the site first")
    return int(row[0])


def on_duty(*, conn: Conn, site_id: int, role: str) -> list[Person]:
    """Staff of ``role`` at the site now: by shift, else by standing role (module docstring)."""
    rows = conn.execute(
        """WITH rostered AS (
               SELECT DISTINCT s.id, s.name, s.channels FROM staff s JOIN shifts sh
                   ON sh.staff_id = s.id AND sh.role = %(role)s
                  AND sh.starts_at <= now() AND sh.ends_at > now()
               WHERE s.site_id = %(site)s AND s.active)
           SELECT id, name, channels, true FROM rostered
           UNION ALL
           SELECT id, name, channels, false FROM staff
           WHERE site_id = %(site)s AND role = %(role)s AND active
             AND NOT EXISTS (SELECT 1 FROM rostered)
           ORDER BY 1""",
        {"site": site_id, "role": role},
    ).fetchall()
    return [
        Person({"kind": "staff", "id": r[0], "name": r[1], "role": role, "on_shift": r[3]}, r[2])
        for r in rows
    ]


_CONCERNED = """
    SELECT r.id FROM alarms a JOIN sites st ON st.id = a.site_id
    JOIN residents r ON r.site_id = a.site_id AND r.active
    LEFT JOIN devices d ON d.id = a.device_id
    WHERE a.id = %(alarm)s AND (
        (a.subject_kind = 'resident' AND r.id = a.subject_id)
        OR (a.subject_kind = 'location' AND r.location_id = a.subject_id)
        OR r.id = d.resident_id
        OR st.kind = 'home_alone')"""


def family(*, conn: Conn, alarm_id: int) -> list[Person]:
    rows = conn.execute(
        f"""SELECT c.id, c.name, c.relation, c.priority, c.channels FROM contacts c
            WHERE c.kind = 'family' AND c.active AND c.resident_id IN ({_CONCERNED})
            ORDER BY c.priority, c.id""",
        {"alarm": alarm_id},
    ).fetchall()
    return [
        Person(
            {"kind": "contact", "id": r[0], "name": r[1], "relation": r[2], "priority": r[3]},
            r[4],
        )
        for r in rows
    ]


def community(*, conn: Conn, alarm_id: int, level: str) -> list[Person]:
    rows = conn.execute(
        f"""SELECT c.id, c.name, c.channels FROM contacts c JOIN alarms a ON a.id = %(alarm)s
            WHERE c.site_id = a.site_id AND c.kind = 'community' AND c.active
              AND coalesce(c.tier, 'community') = %(level)s
              AND (c.resident_id IS NULL OR c.resident_id IN ({_CONCERNED}))
            ORDER BY c.priority, c.id""",
        {"alarm": alarm_id, "level": level},
    ).fetchall()
    return [
        Person({"kind": "contact", "id": r[0], "name": r[1], "level": level}, r[2]) for r in rows
    ]


def managers(*, conn: Conn, site_id: int) -> list[Person]:
    rows = conn.execute(
        """SELECT id, name, channels FROM contacts
           WHERE site_id = %s AND kind = 'manager' AND active
           ORDER BY priority, id""",
        (site_id,),
    ).fetchall()
    contacts = [
        Person({"kind": "contact", "id": r[0], "name": r[1], "role": "manager"}, r[2]) for r in rows
    ]
    return on_duty(conn=conn, site_id=site_id, role="manager") + contacts


def audience(*, conn: Conn, alarm_id: int, site_id: int, name: str) -> list[Person]:
    """The people of one audience for an alarm (``operator`` excepted: see the docstring)."""
    if name == "manager":
        return managers(conn=conn, site_id=site_id)
    if name in STAFF_ROLES:
        return on_duty(conn=conn, site_id=site_id, role=name)
    if name == "family":
        return family(conn=conn, alarm_id=alarm_id)
    if name in COMMUNITY_LEVELS:
        return community(conn=conn, alarm_id=alarm_id, level=name)
    raise ValueError(f"unknown audience {name!r} (known: {', '.join(AUDIENCES)})")


def check_audiences(names: Sequence[str]) -> None:
    unknown = [n for n in names if n not in AUDIENCES]
    if unknown:
        raise Conflict(f"unknown audiences {unknown}; use {', '.join(AUDIENCES)}")
