"""Registry reads scoped to a principal, and the writes ``anxin.registry`` does not have.

Functions take a keyword-only connection and do not commit. Reads filter with ``api.scope``;
a missing or invisible object is ``NotFound``. Writes (admin only, checked by the routes)
check what the database would otherwise refuse with a bare constraint error, so the caller
gets a sentence that says what to fix.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts import roster
from anxin import registry
from anxin.errors import Conflict, NotFound
from api import scope
from api.db import Conn
from api.registry.models import (
    ContactIn,
    ContactOut,
    ContactPatch,
    DeviceIn,
    DeviceIssued,
    DeviceOut,
    LocationIn,
    LocationOut,
    ResidentIn,
    ResidentOut,
    ResidentPatch,
    ShiftIn,
    ShiftOut,
    SiteIn,
    SiteOut,
    StaffIn,
    StaffOut,
    StaffPatch,
)
from api.scope import Principal

LIST_CAP = 5000


def _rows(
    conn: Conn, query: sql.SQL | sql.Composed, params: dict[str, Any]
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()


def _site_filter(site: str | None) -> sql.Composable:
    return sql.SQL("TRUE") if site is None else sql.SQL("s.uid = %(site)s")


def _update(conn: Conn, table: str, row_id: int, changes: dict[str, Any]) -> None:
    """Set the given columns of one row. Column names come from a patch model (which forbids
    unknown fields), never from raw input; ``channels`` is stored as jsonb."""
    if not changes:
        return
    params = {col: Jsonb(v) if col == "channels" else v for col, v in changes.items()}
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(col), sql.Placeholder(col)) for col in params
    )
    query = sql.SQL("UPDATE {} SET {} WHERE id = %(row_id)s").format(
        sql.Identifier(table), assignments
    )
    conn.execute(query, {**params, "row_id": row_id})


# Sites


_SITES = sql.SQL(
    "SELECT s.id, s.uid, s.name, s.kind::text AS kind, s.region, s.timezone FROM sites s"
)


def list_sites(*, conn: Conn, principal: Principal) -> list[SiteOut]:
    query = sql.SQL("{} WHERE {} ORDER BY s.uid LIMIT {}").format(
        _SITES, scope.sites(principal, "s.id"), LIST_CAP
    )
    return [SiteOut.model_validate(r) for r in _rows(conn, query, {})]


def get_site(*, conn: Conn, principal: Principal, uid: str) -> SiteOut:
    query = sql.SQL("{} WHERE s.uid = %(uid)s AND {}").format(
        _SITES, scope.sites(principal, "s.id")
    )
    rows = _rows(conn, query, {"uid": uid})
    if not rows:
        raise NotFound(f"no site {uid!r} in your scope; list them with GET /api/v1/sites")
    return SiteOut.model_validate(rows[0])


def create_site(*, conn: Conn, body: SiteIn) -> SiteOut:
    registry.create_site(
        conn=conn,
        uid=body.uid,
        name=body.name,
        kind=body.kind,
        region=body.region.strip("/"),
        timezone=body.timezone,
    )
    return SiteOut.model_validate(
        _rows(conn, _SITES + sql.SQL(" WHERE s.uid = %(uid)s"), {"uid": body.uid})[0]
    )


# Locations


_LOCATIONS = sql.SQL(
    """SELECT l.id, s.uid AS site_uid, l.name, l.kind, l.parent_id
       FROM locations l JOIN sites s ON s.id = l.site_id"""
)


def list_locations(*, conn: Conn, principal: Principal, site: str) -> list[LocationOut]:
    get_site(conn=conn, principal=principal, uid=site)
    query = sql.SQL("{} WHERE s.uid = %(site)s ORDER BY l.name LIMIT {}").format(
        _LOCATIONS, LIST_CAP
    )
    return [LocationOut.model_validate(r) for r in _rows(conn, query, {"site": site})]


def create_location(*, conn: Conn, site: str, body: LocationIn) -> LocationOut:
    location_id = registry.create_location(conn=conn, site_uid=site, name=body.name, kind=body.kind)
    query = _LOCATIONS + sql.SQL(" WHERE l.id = %(id)s")
    return LocationOut.model_validate(_rows(conn, query, {"id": location_id})[0])


def location_id(*, conn: Conn, site: str, name: str) -> int:
    row = conn.execute(
        """SELECT l.id FROM locations l JOIN sites s ON s.id = l.site_id
           WHERE s.uid = %s AND l.name = %s""",
        (site, name),
    ).fetchone()
    if row is None:
        raise NotFound(f"no location {name!r} at site {site!r}; create it first")
    return int(row[0])


# Residents


_RESIDENTS = sql.SQL(
    """SELECT r.id, r.uid, s.uid AS site_uid, r.name, r.location_id, l.name AS location_name,
              r.birth_year, r.hr_low, r.hr_high, r.spo2_low, r.active
       FROM residents r JOIN sites s ON s.id = r.site_id
       LEFT JOIN locations l ON l.id = r.location_id"""
)


def list_residents(*, conn: Conn, principal: Principal, site: str | None) -> list[ResidentOut]:
    query = sql.SQL("{} WHERE {} AND {} ORDER BY r.uid LIMIT {}").format(
        _RESIDENTS, scope.residents(principal, "r.id", "r.site_id"), _site_filter(site), LIST_CAP
    )
    return [ResidentOut.model_validate(r) for r in _rows(conn, query, {"site": site})]


def get_resident(*, conn: Conn, principal: Principal, uid: str) -> ResidentOut:
    query = sql.SQL("{} WHERE r.uid = %(uid)s AND {}").format(
        _RESIDENTS, scope.residents(principal, "r.id", "r.site_id")
    )
    rows = _rows(conn, query, {"uid": uid})
    if not rows:
        raise NotFound(f"no resident {uid!r} in your scope; list them with GET /api/v1/residents")
    return ResidentOut.model_validate(rows[0])


def create_resident(*, conn: Conn, body: ResidentIn) -> ResidentOut:
    location = location_id(conn=conn, site=body.site, name=body.location) if body.location else None
    registry.create_resident(
        conn=conn,
        uid=body.uid,
        site_uid=body.site,
        name=body.name,
        location_id=location,
        birth_year=body.birth_year,
    )
    query = _RESIDENTS + sql.SQL(" WHERE r.uid = %(uid)s")
    return ResidentOut.model_validate(_rows(conn, query, {"uid": body.uid})[0])


def update_resident(*, conn: Conn, uid: str, body: ResidentPatch) -> ResidentOut:
    """Change what was sent. The row is locked first, so a limit sent alone is checked against
    the other limit as it is at commit, not as a concurrent update left it."""
    rows = _rows(
        conn,
        sql.SQL(
            """SELECT r.id, s.uid AS site_uid, r.hr_low, r.hr_high
               FROM residents r JOIN sites s ON s.id = r.site_id
               WHERE r.uid = %(uid)s FOR UPDATE OF r"""
        ),
        {"uid": uid},
    )
    if not rows:
        raise NotFound(f"no resident {uid!r}; list them with GET /api/v1/residents")
    current = rows[0]
    changes = body.changes()
    if "location" in changes:
        name = changes.pop("location")
        changes["location_id"] = (
            None if name is None else location_id(conn=conn, site=current["site_uid"], name=name)
        )
    low = changes.get("hr_low", current["hr_low"])
    high = changes.get("hr_high", current["hr_high"])
    if low >= high:
        raise Conflict(
            f"hr_low ({low}) must be below hr_high ({high}); send both limits to move the range"
        )
    _update(conn, "residents", current["id"], changes)
    query = _RESIDENTS + sql.SQL(" WHERE r.id = %(id)s")
    return ResidentOut.model_validate(_rows(conn, query, {"id": current["id"]})[0])


# Devices


_DEVICES = sql.SQL(
    """SELECT d.id, d.uid, s.uid AS site_uid, d.kind::text AS kind, d.active,
              d.heartbeat_interval_s, d.location_id, d.resident_id,
              d.mqtt_password_hash IS NOT NULL AS has_credential
       FROM devices d JOIN sites s ON s.id = d.site_id"""
)


def list_devices(*, conn: Conn, principal: Principal, site: str | None) -> list[DeviceOut]:
    query = sql.SQL("{} WHERE {} AND {} ORDER BY d.uid LIMIT {}").format(
        _DEVICES,
        scope.devices(principal, "d.site_id", "d.resident_id"),
        _site_filter(site),
        LIST_CAP,
    )
    return [DeviceOut.model_validate(r) for r in _rows(conn, query, {"site": site})]


def get_device(*, conn: Conn, principal: Principal, uid: str) -> DeviceOut:
    query = sql.SQL("{} WHERE d.uid = %(uid)s AND {}").format(
        _DEVICES, scope.devices(principal, "d.site_id", "d.resident_id")
    )
    rows = _rows(conn, query, {"uid": uid})
    if not rows:
        raise NotFound(f"no device {uid!r} in your scope; list them with GET /api/v1/devices")
    return DeviceOut.model_validate(rows[0])


def create_device(*, conn: Conn, body: DeviceIn) -> DeviceIssued:
    """Register a device with a new credential; its password is in the answer, once."""
    if body.kind == "bracelet" and body.location:
        raise Conflict("a bracelet moves with its wearer: give it a resident, not a location")
    if body.kind != "bracelet" and body.resident:
        raise Conflict(f"a {body.kind} sensor is placed at a location, not worn by a resident")
    resident = _resident_at(conn=conn, site=body.site, uid=body.resident) if body.resident else None
    location = location_id(conn=conn, site=body.site, name=body.location) if body.location else None
    issued = registry.create_device(
        conn=conn,
        uid=body.uid,
        site_uid=body.site,
        kind=body.kind,
        location_id=location,
        resident_id=resident,
        model=body.model,
        heartbeat_interval_s=body.heartbeat_interval_s,
    )
    query = _DEVICES + sql.SQL(" WHERE d.uid = %(uid)s")
    device = DeviceOut.model_validate(_rows(conn, query, {"uid": issued.device.uid})[0])
    return DeviceIssued(device=device, mqtt_password=issued.password)


def _resident_at(*, conn: Conn, site: str, uid: str) -> int:
    row = conn.execute(
        """SELECT r.id, s.uid FROM residents r JOIN sites s ON s.id = r.site_id
           WHERE r.uid = %s""",
        (uid,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no resident {uid!r}; register the resident first")
    if row[1] != site:
        raise Conflict(f"resident {uid!r} lives at site {row[1]!r}, not {site!r}")
    return int(row[0])


# Contacts and staff


_CONTACTS = sql.SQL(
    """SELECT c.id, s.uid AS site_uid, r.uid AS resident_uid, c.name, c.kind, c.relation,
              c.tier, c.priority, c.phone, c.email, c.channels, c.active
       FROM contacts c JOIN sites s ON s.id = c.site_id
       LEFT JOIN residents r ON r.id = c.resident_id"""
)


def list_contacts(
    *, conn: Conn, principal: Principal, site: str | None, resident: str | None
) -> list[ContactOut]:
    resident_filter = sql.SQL("TRUE" if resident is None else "r.uid = %(resident)s")
    query = sql.SQL("{} WHERE {} AND {} AND {} ORDER BY c.priority, c.id LIMIT {}").format(
        _CONTACTS,
        scope.people(principal, "c.site_id"),
        _site_filter(site),
        resident_filter,
        LIST_CAP,
    )
    rows = _rows(conn, query, {"site": site, "resident": resident})
    return [ContactOut.model_validate(r) for r in rows]


def create_contact(*, conn: Conn, body: ContactIn) -> ContactOut:
    site = registry.get_site(conn=conn, uid=body.site)
    if site is None:
        raise NotFound(f"no site {body.site!r}; create it first")
    resident = _resident_at(conn=conn, site=body.site, uid=body.resident) if body.resident else None
    if body.kind == "community" and body.tier is None:
        raise Conflict("a community contact needs a tier: community, town or district")
    row = conn.execute(
        """INSERT INTO contacts (site_id, resident_id, name, kind, relation, tier, priority,
                                 phone, email, channels)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (
            site.id,
            resident,
            body.name,
            body.kind,
            body.relation,
            body.tier,
            body.priority,
            body.phone,
            body.email,
            Jsonb(body.channels),
        ),
    ).fetchone()
    assert row is not None
    query = _CONTACTS + sql.SQL(" WHERE c.id = %(id)s")
    return ContactOut.model_validate(_rows(conn, query, {"id": row[0]})[0])


def update_contact(*, conn: Conn, contact_id: int, body: ContactPatch) -> ContactOut:
    """Change what was sent; a contact is deactivated, never deleted, because past
    notifications name it."""
    _update(conn, "contacts", contact_id, body.changes())
    rows = _rows(conn, _CONTACTS + sql.SQL(" WHERE c.id = %(id)s"), {"id": contact_id})
    if not rows:
        raise NotFound(f"no contact with id {contact_id}; list them with GET /api/v1/contacts")
    return ContactOut.model_validate(rows[0])


_STAFF = sql.SQL(
    """SELECT t.id, s.uid AS site_uid, t.name, t.role, t.phone, t.email, t.channels, t.active
       FROM staff t JOIN sites s ON s.id = t.site_id"""
)


def list_staff(*, conn: Conn, principal: Principal, site: str | None) -> list[StaffOut]:
    query = sql.SQL("{} WHERE {} AND {} ORDER BY s.uid, t.name LIMIT {}").format(
        _STAFF, scope.people(principal, "t.site_id"), _site_filter(site), LIST_CAP
    )
    return [StaffOut.model_validate(r) for r in _rows(conn, query, {"site": site})]


def create_staff(*, conn: Conn, body: StaffIn) -> StaffOut:
    site = registry.get_site(conn=conn, uid=body.site)
    if site is None:
        raise NotFound(f"no site {body.site!r}; create it first")
    row = conn.execute(
        """INSERT INTO staff (site_id, name, role, phone, email, channels)
           VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
        (site.id, body.name, body.role, body.phone, body.email, Jsonb(body.channels)),
    ).fetchone()
    assert row is not None
    query = _STAFF + sql.SQL(" WHERE t.id = %(id)s")
    return StaffOut.model_validate(_rows(conn, query, {"id": row[0]})[0])


def update_staff(*, conn: Conn, staff_id: int, body: StaffPatch) -> StaffOut:
    """Change what was sent; someone who left is deactivated (off the roster, their shifts
    ignored) rather than deleted, because past notifications and acknowledgements name them."""
    _update(conn, "staff", staff_id, body.changes())
    rows = _rows(conn, _STAFF + sql.SQL(" WHERE t.id = %(id)s"), {"id": staff_id})
    if not rows:
        raise NotFound(f"no staff member with id {staff_id}; list them with GET /api/v1/staff")
    return StaffOut.model_validate(rows[0])


def add_shift(*, conn: Conn, staff_id: int, body: ShiftIn) -> ShiftOut:
    shift_id = roster.add_shift(
        conn=conn, staff_id=staff_id, role=body.role, starts_at=body.starts_at, ends_at=body.ends_at
    )
    return ShiftOut(
        id=shift_id,
        staff_id=staff_id,
        role=body.role,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
    )
