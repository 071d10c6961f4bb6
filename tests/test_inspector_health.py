"""Device health as inspectors see it, from readings stored in the real schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from anxin import registry
from api.inspector.health import device_health
from tests.fix_inspector import make_site

NOW = datetime.now(UTC).replace(microsecond=0)


def _device(conn, uid, site, kind, *, age=timedelta(0), interval_s=60):
    issued = registry.create_device(
        conn=conn, uid=uid, site_uid=site, kind=kind, heartbeat_interval_s=interval_s
    )
    conn.execute("UPDATE devices SET created_at = %s WHERE id = %s", (NOW - age, issued.device.id))
    return issued.device.id


def _heartbeat(conn, device, ago, battery=None):
    conn.execute(
        """INSERT INTO reading_heartbeat (ts, device_id, seq, interval_s, battery)
           VALUES (%s, %s, (SELECT count(*) FROM reading_heartbeat), 60, %s)""",
        (NOW - ago, device, battery),
    )


def _vitals(conn, device, ago, battery):
    conn.execute(
        """INSERT INTO reading_vitals (ts, device_id, seq, hr, battery)
           VALUES (%s, %s, (SELECT count(*) FROM reading_vitals), 70, %s)""",
        (NOW - ago, device, battery),
    )


def _env(conn, device, ago, battery):
    conn.execute(
        """INSERT INTO reading_env (ts, device_id, seq, lel_pct, battery)
           VALUES (%s, %s, (SELECT count(*) FROM reading_env), 0.5, %s)""",
        (NOW - ago, device, battery),
    )


def _event(conn, device, ago, event):
    conn.execute(
        """INSERT INTO device_event (ts, device_id, seq, event)
           VALUES (%s, %s, (SELECT count(*) FROM device_event), %s)""",
        (NOW - ago, device, event),
    )


def test_offline_battery_and_self_tests_are_judged_from_readings(conn):
    site = make_site(conn, "h")
    other = make_site(conn, "other")
    s, m, d = timedelta(seconds=1), timedelta(minutes=1), timedelta(days=1)
    fresh = _device(conn, "fresh", "h", "bracelet")
    _vitals(conn, fresh, 30 * s, 80)
    silent = _device(conn, "silent", "h", "bracelet", age=d)
    _heartbeat(conn, silent, 4 * m, battery=50)
    _vitals(conn, silent, 3 * m + 30 * s, battery=12)
    slow = _device(conn, "slow", "h", "gas", age=2 * d, interval_s=600)
    _heartbeat(conn, slow, 20 * m, battery=60)
    _env(conn, slow, 15 * m, battery=14)
    _event(conn, slow, 2 * d, "self_test_ok")
    untested = _device(conn, "untested", "h", "gas", age=40 * d)
    _heartbeat(conn, untested, 10 * s)
    failed = _device(conn, "failed", "h", "smoke", age=40 * d)
    _heartbeat(conn, failed, 10 * s)
    _event(conn, failed, 5 * d, "self_test_ok")
    _event(conn, failed, 1 * d, "self_test_fail")
    _device(conn, "never", "h", "bracelet", age=10 * m)
    registry.create_device(conn=conn, uid="elsewhere", site_uid="other", kind="smoke")
    gone = _device(conn, "retired", "h", "smoke", age=40 * d)
    conn.execute("UPDATE devices SET active = false WHERE id = %s", (gone,))

    health = {h.device_uid: h for h in device_health(conn=conn, scope=[site], now=NOW)}

    assert sorted(health) == ["failed", "fresh", "never", "silent", "slow", "untested"]
    assert health["fresh"].problems == []
    assert health["fresh"].last_seen_at == NOW - 30 * s
    assert health["silent"].problems == ["offline", "battery_low"]
    assert health["silent"].battery_pct == 12
    assert health["slow"].problems == ["battery_low"]
    assert health["slow"].last_seen_at == NOW - 15 * m
    assert health["untested"].problems == ["self_test_overdue"]
    assert health["failed"].problems == ["self_test_failed"]
    assert health["failed"].last_self_test_ok_at == NOW - 5 * d
    assert health["never"].problems == ["offline"] and health["never"].last_seen_at is None
    assert fresh not in {h.device_id for h in device_health(conn=conn, scope=[other], now=NOW)}
    problems = device_health(conn=conn, scope=[site], now=NOW, problems_only=True)
    assert {h.device_uid for h in problems} == {"silent", "slow", "untested", "failed", "never"}
