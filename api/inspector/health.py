"""Device health from the devices' own readings: offline, battery low, self-test overdue or
failed.

The thresholds are the detection rules' own (``alerts.rules.config.RuleConfig``), so the
inspector's view and the alarms agree: offline after three heartbeat intervals of silence,
battery low at 15 % or below, fire and gas sensors self-tested at least every 31 days (the
clock starts at registration, so a sensor never tested is overdue too).

"Last seen" is the newest device time over every reading kind; each lookup is one backward
step on the ``(device_id, ts, seq)`` key, so the cost is per device, not per reading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from alerts.rules.config import RuleConfig
from api.inspector.models import DeviceHealth

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class HealthThresholds:
    offline_missed_heartbeats: float
    battery_low_pct: int
    self_test_max_days: float
    self_test_kinds: frozenset[str]

    @classmethod
    def from_rules(cls, config: RuleConfig | None = None) -> HealthThresholds:
        config = config or RuleConfig()
        return cls(
            offline_missed_heartbeats=config.offline_missed_heartbeats,
            battery_low_pct=config.battery_low_pct,
            self_test_max_days=config.self_test_max_days,
            self_test_kinds=frozenset(config.self_test_device_kinds),
        )


# A bracelet sends vitals, a fire or gas sensor environment readings (docs/mqtt.md); the
# one-time filters on d.kind skip the other table, and self-tests are looked up only for the
# kinds that must self-test.
_LATEST_BATTERY = """
    SELECT battery FROM (
        (SELECT ts, battery FROM reading_heartbeat r
         WHERE r.device_id = d.id AND r.battery IS NOT NULL ORDER BY ts DESC LIMIT 1)
        UNION ALL
        (SELECT ts, battery FROM reading_vitals r WHERE d.kind = 'bracelet'
         AND r.device_id = d.id AND r.battery IS NOT NULL ORDER BY ts DESC LIMIT 1)
        UNION ALL
        (SELECT ts, battery FROM reading_env r WHERE d.kind <> 'bracelet'
         AND r.device_id = d.id AND r.battery IS NOT NULL ORDER BY ts DESC LIMIT 1)
    ) latest ORDER BY ts DESC LIMIT 1
"""

_QUERY = f"""
SELECT d.id AS device_id, d.uid AS device_uid, d.kind::text AS kind, d.site_id,
       s.uid AS site_uid, s.name AS site_name, l.name AS location, d.heartbeat_interval_s,
       d.created_at,
       greatest((SELECT max(ts) FROM reading_heartbeat r WHERE r.device_id = d.id),
                CASE WHEN d.kind = 'bracelet'
                     THEN (SELECT max(ts) FROM reading_vitals r WHERE r.device_id = d.id)
                     ELSE (SELECT max(ts) FROM reading_env r WHERE r.device_id = d.id) END,
                (SELECT max(ts) FROM device_event r WHERE r.device_id = d.id)) AS last_seen_at,
       ({_LATEST_BATTERY}) AS battery_pct,
       CASE WHEN d.kind::text = ANY(%(test_kinds)s) THEN
           (SELECT max(ts) FROM device_event e
            WHERE e.device_id = d.id AND e.event = 'self_test_ok') END AS last_self_test_ok_at,
       CASE WHEN d.kind::text = ANY(%(test_kinds)s) THEN
           (SELECT max(ts) FROM device_event e
            WHERE e.device_id = d.id AND e.event = 'self_test_fail') END
           AS last_self_test_fail_at
FROM devices d
JOIN sites s ON s.id = d.site_id
LEFT JOIN locations l ON l.id = d.location_id
WHERE d.active AND d.site_id = ANY(%(sites)s::bigint[])
ORDER BY s.uid, d.uid
"""


def device_health(
    *,
    conn: Conn,
    scope: Sequence[int],
    now: datetime,
    thresholds: HealthThresholds | None = None,
    problems_only: bool = False,
) -> list[DeviceHealth]:
    """Health of every active device in ``scope``, judged at ``now``."""
    limits = thresholds or HealthThresholds.from_rules()
    with conn.cursor(row_factory=dict_row) as cur:
        params = {"sites": sorted(set(scope)), "test_kinds": sorted(limits.self_test_kinds)}
        rows = cur.execute(_QUERY, params).fetchall()
    devices = [assess(row, limits, now) for row in rows]
    return [d for d in devices if d.problems] if problems_only else devices


def assess(row: dict[str, Any], limits: HealthThresholds, now: datetime) -> DeviceHealth:
    """Judge one device's facts (a row of the health query) against the thresholds."""
    silent_limit = timedelta(seconds=row["heartbeat_interval_s"] * limits.offline_missed_heartbeats)
    offline = now - (row["last_seen_at"] or row["created_at"]) > silent_limit
    battery = row["battery_pct"]
    battery_low = battery is not None and battery <= limits.battery_low_pct
    must_test = row["kind"] in limits.self_test_kinds
    last_ok, last_fail = row["last_self_test_ok_at"], row["last_self_test_fail_at"]
    failed = last_fail is not None and (last_ok is None or last_fail > last_ok)
    overdue = must_test and now - (last_ok or row["created_at"]) > timedelta(
        days=limits.self_test_max_days
    )
    flags = {
        "offline": offline,
        "battery_low": battery_low,
        "self_test_overdue": overdue,
        "self_test_failed": failed,
    }
    return DeviceHealth(
        **{k: v for k, v in row.items() if k not in ("created_at", "last_self_test_fail_at")},
        **flags,
        problems=[name for name, flag in flags.items() if flag],
    )
