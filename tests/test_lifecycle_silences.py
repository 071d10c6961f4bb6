"""Maintenance windows: a silenced alarm is recorded but nobody is told; when the window ends
and the condition persists, the escalation starts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from alerts import escalation
from alerts.delivery import DeliveryWorker
from alerts.models import AlarmKind, Subject
from alerts.scheduler import EscalationScheduler, SchedulerConfig
from alerts.silences import active_silences, create_silence, end_silence
from anxin import registry
from anxin.errors import Conflict, NotFound
from tests.alarm_setup import delivery_config, raise_and_start, rows, site, staff, trigger, webhook
from tests.receivers import http_receiver


def _in(minutes: float) -> datetime:
    return datetime.now(UTC) + timedelta(minutes=minutes)


def test_a_silenced_location_records_the_alarm_but_notifies_nobody(db_url):
    with http_receiver() as rx, psycopg.connect(db_url) as conn:
        sid = site(conn)
        staff(conn, sid, "Duty", "duty", webhook(rx.url("duty")))
        floor = registry.create_location(conn=conn, site_uid="s1", name="Floor 2", kind="floor")
        room = registry.create_location(conn=conn, site_uid="s1", name="Room 201")
        conn.execute("UPDATE locations SET parent_id = %s WHERE id = %s", (floor, room))
        window = create_silence(
            conn=conn,
            location_id=floor,
            reason="smoke detector test",
            owner="Zhao",
            ends_at=_in(30),
        )
        conn.commit()
        smoke = trigger(Subject("location", room), kind=AlarmKind.FIRE)
        alarm_id, enqueued = raise_and_start(conn, smoke)
        worker = DeliveryWorker(delivery_config(db_url, escalation.Routing()))
        assert worker.run_once() == 0
        worker.close()

    assert enqueued == 0 and rx.requests == []
    assert rows(db_url, "SELECT state, silenced, silence_id FROM alarms") == [
        ("open", True, window.id)
    ]
    assert rows(
        db_url, "SELECT channel, state FROM notifications WHERE alarm_id = %s", alarm_id
    ) == [("none", "silenced")]
    [(detail,)] = rows(db_url, "SELECT detail FROM alarm_events WHERE action = 'silenced'")
    assert detail["reason"] == "smoke detector test" and detail["owner"] == "Zhao"
    assert rows(db_url, "SELECT count(*) FROM escalation_timers") == [(0,)]


@pytest.mark.parametrize("ending", ["ended early", "expired"])
def test_escalation_starts_when_the_silence_is_over_and_the_alarm_still_open(db_url, ending):
    with psycopg.connect(db_url) as conn:
        sid = site(conn)
        staff(conn, sid, "Duty", "duty", webhook("http://127.0.0.1:9/duty"))
        resident = registry.create_resident(conn=conn, uid="r1", site_uid="s1", name="Wang")
        device = registry.create_device(
            conn=conn, uid="b1", site_uid="s1", kind="bracelet", resident_id=resident
        ).device.id
        until = _in(30) if ending == "ended early" else datetime.now(UTC) + timedelta(seconds=1)
        window = create_silence(
            conn=conn, device_id=device, reason="battery swap", owner="Zhao", ends_at=until
        )
        conn.commit()
        sos = trigger(Subject("resident", resident), device_id=device)
        alarm_id, silenced = raise_and_start(conn, sos)
        scheduler = EscalationScheduler(SchedulerConfig(db_url, escalation.Routing()))
        scheduler.run_once()
        assert rows(db_url, "SELECT silenced FROM alarms") == [(True,)]  # still silenced
        if ending == "ended early":
            assert end_silence(conn=conn, silence_id=window.id, by="Zhao")
            assert not end_silence(conn=conn, silence_id=window.id, by="Zhao")
            conn.commit()
        else:
            time.sleep(1.1)
        assert active_silences(conn=conn, site_id=sid) == []
        scheduler.run_once()
        scheduler.close()

    assert silenced == 0
    assert rows(db_url, "SELECT silenced, silence_id FROM alarms") == [(False, None)]
    assert rows(db_url, "SELECT channel, state FROM notifications ORDER BY id") == [
        ("none", "silenced"),
        ("webhook", "pending"),
    ]
    actions = [a for (a,) in rows(db_url, "SELECT action FROM alarm_events ORDER BY id")]
    assert actions == ["raised", "silenced", "unsilenced"]
    assert ("fired", 1) in rows(
        db_url, "SELECT state, tier FROM escalation_timers WHERE alarm_id = %s", alarm_id
    )


def test_an_alarm_under_two_silences_stays_silenced_until_both_are_over(db_url):
    with psycopg.connect(db_url) as conn:
        site(conn)
        room = registry.create_location(conn=conn, site_uid="s1", name="Hall")
        gas = registry.create_device(
            conn=conn, uid="g1", site_uid="s1", kind="gas", location_id=room
        ).device.id
        first = create_silence(
            conn=conn, device_id=gas, reason="repair", owner="A", ends_at=_in(60)
        )
        create_silence(conn=conn, location_id=room, reason="painting", owner="B", ends_at=_in(30))
        conn.commit()
        raise_and_start(conn, trigger(Subject("location", room), kind=AlarmKind.GAS, device_id=gas))
        [(covering,)] = rows(db_url, "SELECT silence_id FROM alarms")
        assert covering == first.id  # the one ending last
        end_silence(conn=conn, silence_id=first.id, by="A")
        conn.commit()
        scheduler = EscalationScheduler(SchedulerConfig(db_url, escalation.Routing()))
        scheduler.run_once()
        scheduler.close()
    [(silenced, now_covering)] = rows(db_url, "SELECT silenced, silence_id FROM alarms")
    assert silenced and now_covering != first.id


def test_other_devices_are_not_silenced(db_url):
    with psycopg.connect(db_url) as conn:
        site(conn)
        quiet = registry.create_device(conn=conn, uid="g1", site_uid="s1", kind="gas").device.id
        loud = registry.create_device(conn=conn, uid="g2", site_uid="s1", kind="gas").device.id
        create_silence(conn=conn, device_id=quiet, reason="repair", owner="Zhao", ends_at=_in(5))
        conn.commit()
        raise_and_start(conn, trigger(Subject("device", loud), kind=AlarmKind.GAS, device_id=loud))
    assert rows(db_url, "SELECT silenced FROM alarms") == [(False,)]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"device_id": None, "location_id": None}, Conflict, "exactly one"),
        ({"device_id": 1, "reason": " "}, Conflict, "reason and an owner"),
        ({"device_id": 1, "ends_at": _in(-1)}, Conflict, "end in the future"),
        ({"device_id": 999}, NotFound, "no device"),
    ],
)
def test_bad_silences_are_refused_with_a_reason(db_url, kwargs, error, message):
    with psycopg.connect(db_url) as conn:
        site(conn)
        registry.create_device(conn=conn, uid="g1", site_uid="s1", kind="gas")
        args = {"reason": "test", "owner": "Zhao", "ends_at": _in(5), **kwargs}
        with pytest.raises(error, match=message):
            create_silence(conn=conn, **args)
