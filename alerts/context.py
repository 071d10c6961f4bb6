"""Device contexts for detection: each device with its site, location and wearer, from the DB."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import class_row

from alerts.models import DeviceContext, Subject

_QUERY = """
    SELECT d.id AS device_id, d.uid AS device_uid, d.kind::text AS device_kind,
           s.uid AS site_uid, s.kind::text AS site_kind,
           d.heartbeat_interval_s,
           coalesce(d.location_id, r.location_id) AS location_id,
           l.name AS location_name, l.kind AS location_kind,
           r.id AS resident_id, r.uid AS resident_uid,
           coalesce(r.hr_low, 45) AS hr_low, coalesce(r.hr_high, 120) AS hr_high,
           coalesce(r.spo2_low, 90) AS spo2_low
    FROM devices d
    JOIN sites s ON s.id = d.site_id
    LEFT JOIN residents r ON r.id = d.resident_id
    LEFT JOIN locations l ON l.id = coalesce(d.location_id, r.location_id)
    WHERE d.active"""


def load_contexts(*, conn: psycopg.Connection[Any]) -> dict[str, DeviceContext]:
    """Every active device by uid; a bracelet's location is its wearer's room or bed."""
    with conn.cursor(row_factory=class_row(DeviceContext)) as cur:
        return {ctx.device_uid: ctx for ctx in cur.execute(_QUERY).fetchall()}


def subject_of(ctx: DeviceContext) -> Subject:
    """A bracelet's alarms are about its wearer; a sensor's about its room; else the device."""
    if ctx.resident_id is not None:
        return Subject("resident", ctx.resident_id)
    if ctx.location_id is not None:
        return Subject("location", ctx.location_id)
    return Subject("device", ctx.device_id)
