"""One wire, one verdict: with ingest and alerts both running on the real broker and database, a
message ingest dead-letters raises no alarm, a late SOS is raised marked late with its own time,
and a flood from unknown or deactivated devices does not make either re-read the registry."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from prometheus_client import REGISTRY

from anxin import registry, wire
from anxin.platform import Platform
from tests.helpers import (
    Publisher,
    count,
    now_ms,
    register_bracelet,
    running_platform,
    wait_until,
)

HOUR_MS = 3_600_000
REFRESH_S = 1.0
FLOOD = 600
"""Messages of each kind (unknown, deactivated) in the flood."""


@pytest.fixture
def services(db_url: str, mqtt_url: str) -> Iterator[Platform]:
    with running_platform(db_url, mqtt_url, ingest_device_refresh_s=REFRESH_S) as platform:
        yield platform


def _sos(seq: int, *, ts: int | None = None, dev: str | None = None) -> bytes:
    return wire.encode(wire.Event(seq=seq, ts=now_ms() if ts is None else ts, event="sos", dev=dev))


def _skipped(reason: str) -> float:
    return REGISTRY.get_sample_value("anxin_alerts_skipped_total", {"reason": reason}) or 0.0


def _alarms_of(db_url: str, device_uid: str) -> int:
    return count(
        db_url,
        "SELECT count(*) FROM alarms a JOIN devices d ON d.id = a.device_id WHERE d.uid = %s",
        device_uid,
    )


def _raise_control_alarm(db_url: str, pub: Publisher, site: str) -> None:
    """A valid SOS from another device, published last: once its alarm exists, detection has
    judged everything published before it (one subscription delivers in order)."""
    _, control = register_bracelet(db_url, site=site)
    time.sleep(REFRESH_S * 1.2)  # both services have re-read the registry by now
    pub.publish(f"anxin/v1/{site}/{control}/reading", _sos(1))
    wait_until(
        lambda: _alarms_of(db_url, control) == 1,
        what="the control SOS alarm",
    )


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("topic of another site", "identity_mismatch"),
        ("dev naming another device", "identity_mismatch"),
        ("ts 72 h old", "clock_skew"),
    ],
)
def test_an_sos_ingest_dead_letters_raises_no_alarm(db_url, mqtt_url, services, row, reason):
    site, dev = register_bracelet(db_url)
    other_site, other = register_bracelet(db_url)
    topic, payload = {
        "topic of another site": (f"anxin/v1/{other_site}/{dev}/reading", _sos(7)),
        "dev naming another device": (f"anxin/v1/{site}/{dev}/reading", _sos(7, dev=other)),
        "ts 72 h old": (f"anxin/v1/{site}/{dev}/reading", _sos(7, ts=now_ms() - 72 * HOUR_MS)),
    }[row]
    skipped_before = _skipped(reason)
    pub = Publisher(mqtt_url)
    pub.publish(topic, payload)
    wait_until(
        lambda: (
            count(
                db_url,
                "SELECT count(*) FROM dead_letter"
                " WHERE topic = %s AND reason = %s AND payload = %s",
                topic,
                reason,
                payload,
            )
            == 1
        ),
        what=f"the {reason} dead letter",
    )
    _raise_control_alarm(db_url, pub, site)
    pub.close()
    assert count(db_url, "SELECT count(*) FROM alarms") == 1
    assert count(db_url, "SELECT count(*) FROM device_event") == 1
    assert _skipped(reason) == skipped_before + 1


def test_a_late_sos_is_raised_marked_late_with_its_own_time(db_url, mqtt_url, services):
    site, dev = register_bracelet(db_url)
    pressed = now_ms() - HOUR_MS // 2
    pub = Publisher(mqtt_url)
    pub.publish(f"anxin/v1/{site}/{dev}/reading", _sos(3, ts=pressed))
    pub.close()
    wait_until(lambda: count(db_url, "SELECT count(*) FROM alarms") == 1, what="the late alarm")
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT title, evidence, (extract(epoch FROM first_seen_at) * 1000)::bigint FROM alarms"
        ).fetchone()
    assert row is not None
    title, evidence, first_seen_ms = row
    assert title.startswith(f"Late SOS ({dev}): pressed at ")
    assert title.endswith(", received 30 min later")
    assert evidence["late"] is True
    assert 1800 <= evidence["late_by_s"] < 1830
    assert evidence["pressed_at_ms"] == pressed
    assert first_seen_ms == pressed
    # ingest stores the event in its own session, possibly after detection raised the alarm
    wait_until(
        lambda: count(db_url, "SELECT count(*) FROM device_event WHERE seq = 3") == 1,
        what="the late SOS stored by ingest",
    )


def test_a_flood_from_unknown_and_deactivated_devices_re_reads_the_registry_once_per_interval(
    db_url, mqtt_url, services
):
    site, dev = register_bracelet(db_url)
    _, off = register_bracelet(db_url, site=site)
    with psycopg.connect(db_url) as conn:
        registry.set_device_active(conn=conn, uid=off, active=False)
        conn.commit()
    time.sleep(REFRESH_S * 1.2)
    assert services.ingest is not None and services.alerts is not None
    indexes = {"ingest": services.ingest.handler.devices, "alerts": services.alerts.handler.devices}
    loads_before = {name: index.loads for name, index in indexes.items()}
    pub = Publisher(mqtt_url)
    started = time.monotonic()
    sent = 0
    # A flood of a fixed size over at least three refresh intervals, however fast this machine is.
    while sent < FLOOD or time.monotonic() - started < 3 * REFRESH_S:
        pub.publish(f"anxin/v1/{site}/ghost-{sent % 7}/reading", _sos(sent), wait=False)
        pub.publish(f"anxin/v1/{site}/{off}/reading", _sos(sent), wait=False)
        sent += 1
        time.sleep(0.002)
    pub.publish(f"anxin/v1/{site}/{dev}/reading", _sos(1))
    wait_until(lambda: count(db_url, "SELECT count(*) FROM alarms") == 1, what="the valid SOS")
    elapsed = time.monotonic() - started
    for name, index in indexes.items():
        loads = index.loads - loads_before[name]
        assert loads <= elapsed / REFRESH_S + 1, f"{name} read the registry {loads} times"
    assert count(db_url, "SELECT count(*) FROM alarms") == 1

    with psycopg.connect(db_url) as conn:
        registry.set_device_active(conn=conn, uid=off, active=True)
        conn.commit()
    time.sleep(REFRESH_S * 1.2)
    pub.publish(f"anxin/v1/{site}/{off}/reading", _sos(100_000))
    pub.close()
    wait_until(
        lambda: _alarms_of(db_url, off) == 1,
        what="the SOS of the device activated meanwhile",
    )
