"""Data access for the registry: sites, locations, residents, devices, contacts, staff.

Functions take a keyword-only connection and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row

from anxin.credentials import mosquitto_hash, new_password
from anxin.errors import Conflict, NotFound

Conn = psycopg.Connection[Any]

SITE_KINDS = ("care_home", "home_alone", "funeral")
DEVICE_KINDS = ("bracelet", "smoke", "heat", "gas", "co", "multi")


@dataclass(frozen=True)
class Site:
    id: int
    uid: str
    name: str
    kind: str
    region: str


@dataclass(frozen=True)
class Device:
    id: int
    uid: str
    site_uid: str
    kind: str
    active: bool
    heartbeat_interval_s: int
    location_id: int | None
    resident_id: int | None
    mqtt_password_hash: str | None


@dataclass(frozen=True)
class IssuedDevice:
    """A new device and its one-time password; only the hash is kept."""

    device: Device
    password: str


def create_site(
    *, conn: Conn, uid: str, name: str, kind: str, region: str = "", timezone: str = "Asia/Shanghai"
) -> Site:
    if kind not in SITE_KINDS:
        raise Conflict(f"site kind must be one of {', '.join(SITE_KINDS)} (got {kind!r})")
    try:
        with conn.cursor(row_factory=class_row(Site)) as cur:
            row = cur.execute(
                """INSERT INTO sites (uid, name, kind, region, timezone)
                   VALUES (%s, %s, %s, %s, %s) RETURNING id, uid, name, kind::text, region""",
                (uid, name, kind, region, timezone),
            ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"a site with uid {uid!r} already exists") from None
    assert row is not None
    return row


def get_site(*, conn: Conn, uid: str) -> Site | None:
    with conn.cursor(row_factory=class_row(Site)) as cur:
        return cur.execute(
            "SELECT id, uid, name, kind::text, region FROM sites WHERE uid = %s", (uid,)
        ).fetchone()


def create_location(*, conn: Conn, site_uid: str, name: str, kind: str = "room") -> int:
    site = _require_site(conn=conn, uid=site_uid)
    row = conn.execute(
        """INSERT INTO locations (site_id, name, kind) VALUES (%s, %s, %s)
           ON CONFLICT (site_id, name) DO UPDATE SET kind = EXCLUDED.kind RETURNING id""",
        (site.id, name, kind),
    ).fetchone()
    assert row is not None
    return int(row[0])


def create_resident(
    *,
    conn: Conn,
    uid: str,
    site_uid: str,
    name: str,
    location_id: int | None = None,
    birth_year: int | None = None,
) -> int:
    site = _require_site(conn=conn, uid=site_uid)
    try:
        row = conn.execute(
            """INSERT INTO residents (uid, site_id, name, location_id, birth_year)
               VALUES (%s, %s, %s, %s, %s) RETURNING id""",
            (uid, site.id, name, location_id, birth_year),
        ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"a resident with uid {uid!r} already exists") from None
    assert row is not None
    return int(row[0])


_DEVICE_SELECT = """
    SELECT d.id, d.uid, s.uid AS site_uid, d.kind::text AS kind, d.active,
           d.heartbeat_interval_s, d.location_id, d.resident_id, d.mqtt_password_hash
    FROM devices d JOIN sites s ON s.id = d.site_id"""


def create_device(
    *,
    conn: Conn,
    uid: str,
    site_uid: str,
    kind: str,
    location_id: int | None = None,
    resident_id: int | None = None,
    model: str = "",
    heartbeat_interval_s: int = 60,
    password: str | None = None,
) -> IssuedDevice:
    """Register a device with its own MQTT credential (``password`` or a random one)."""
    if kind not in DEVICE_KINDS:
        raise Conflict(f"device kind must be one of {', '.join(DEVICE_KINDS)} (got {kind!r})")
    site = _require_site(conn=conn, uid=site_uid)
    secret = password or new_password()
    try:
        conn.execute(
            """INSERT INTO devices (uid, site_id, kind, location_id, resident_id, model,
                                    heartbeat_interval_s, mqtt_password_hash)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            (
                uid,
                site.id,
                kind,
                location_id,
                resident_id,
                model,
                heartbeat_interval_s,
                mosquitto_hash(secret),
            ),
        )
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"a device with uid {uid!r} already exists") from None
    device = get_device(conn=conn, uid=uid)
    assert device is not None
    return IssuedDevice(device=device, password=secret)


def rotate_credential(*, conn: Conn, uid: str) -> str:
    """Issue a new password for a device; the old one stops working at the next broker-auth."""
    secret = new_password()
    cur = conn.execute(
        "UPDATE devices SET mqtt_password_hash = %s WHERE uid = %s", (mosquitto_hash(secret), uid)
    )
    if cur.rowcount == 0:
        raise NotFound(f"no device {uid!r}; list them with 'anxin devices list'")
    return secret


def set_device_active(*, conn: Conn, uid: str, active: bool) -> None:
    cur = conn.execute("UPDATE devices SET active = %s WHERE uid = %s", (active, uid))
    if cur.rowcount == 0:
        raise NotFound(f"no device {uid!r}; list them with 'anxin devices list'")


def get_device(*, conn: Conn, uid: str) -> Device | None:
    with conn.cursor(row_factory=class_row(Device)) as cur:
        return cur.execute(_DEVICE_SELECT + " WHERE d.uid = %s", (uid,)).fetchone()


def list_devices(*, conn: Conn, site_uid: str | None = None) -> list[Device]:
    with conn.cursor(row_factory=class_row(Device)) as cur:
        if site_uid is None:
            return cur.execute(_DEVICE_SELECT + " ORDER BY d.uid").fetchall()
        return cur.execute(
            _DEVICE_SELECT + " WHERE s.uid = %s ORDER BY d.uid", (site_uid,)
        ).fetchall()


def _require_site(*, conn: Conn, uid: str) -> Site:
    site = get_site(conn=conn, uid=uid)
    if site is None:
        raise NotFound(f"no site {uid!r}; create it first with 'anxin sites add'")
    return site


def set_credential(*, conn: Conn, uid: str, password: str) -> None:
    """Set a device's password to a known value (the simulator derives its devices' own)."""
    cur = conn.execute(
        "UPDATE devices SET mqtt_password_hash = %s WHERE uid = %s", (mosquitto_hash(password), uid)
    )
    if cur.rowcount == 0:
        raise NotFound(f"no device {uid!r}; list them with 'anxin devices list'")


def get_resident_id(*, conn: Conn, uid: str) -> int | None:
    row = conn.execute("SELECT id FROM residents WHERE uid = %s", (uid,)).fetchone()
    return int(row[0]) if row else None
