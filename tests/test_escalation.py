"""Escalation against real servers: PostgreSQL, a real HTTP receiver, the delivery worker and
the escalation scheduler in threads as ``anxin deliver`` runs them. Policies use delays of
1-2 s so that the timeline is observed for real."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import psycopg

from alerts import escalation, lifecycle
from alerts.delivery import DeliveryWorker
from alerts.models import AlarmKind, Severity, Subject
from alerts.scheduler import EscalationScheduler, SchedulerConfig
from anxin import registry
from tests.alarm_setup import (
    contact,
    delivery_config,
    policy,
    raise_and_start,
    rows,
    running,
    site,
    staff,
    trigger,
    webhook,
)
from tests.helpers import count, wait_until
from tests.receivers import http_receiver

TOLERANCE_S = 1.0  # the brief: escalation timers fire within 1 s of schedule


def test_unacknowledged_alarm_reaches_each_tier_on_schedule_until_acknowledged(db_url):
    """Tiers at 0, 1 and 2 s; reminders every 1.5 s to everyone reached before; the alarm is
    acknowledged once the family has had its second message (the reminder at 3 s)."""
    routing = escalation.Routing()
    with http_receiver() as rx, psycopg.connect(db_url) as conn:
        sid = site(conn)
        resident = registry.create_resident(conn=conn, uid="r1", site_uid="s1", name="Wang")
        staff(conn, sid, "Duty", "duty", webhook(rx.url("duty")))
        staff(conn, sid, "Boss", "supervisor", webhook(rx.url("supervisor")))
        contact(conn, sid, "Daughter", "family", webhook(rx.url("family")), resident_id=resident)
        contact(conn, sid, "Worker", "community", webhook(rx.url("community")), tier="community")
        policy(
            conn,
            sid,
            [(1, 0, ["duty"]), (2, 1, ["supervisor"]), (3, 2, ["family", "community"])],
            reminder_s=1.5,
        )
        conn.commit()
        with running(db_url, routing):
            alarm_id, first = raise_and_start(conn, trigger(Subject("resident", resident)))
            wait_until(lambda: len(rx.to("family")) >= 2, timeout_s=15, what="second reminder")
            assert lifecycle.acknowledge(conn=conn, alarm_id=alarm_id, by="Duty", via="console")
            conn.commit()
            acknowledged = time.time()
            time.sleep(3)  # two more reminder periods: nothing may come
    [(raised_at, acked_at)] = rows(
        db_url, "SELECT raised_at, acknowledged_at FROM alarms WHERE id = %s", alarm_id
    )

    assert first == 1
    due = {(1, 0): 0.0, (2, 0): 1.0, (3, 0): 2.0, (1, 1): 1.5, (1, 2): 3.0}
    sent = rows(
        db_url,
        "SELECT tier, reminder, recipient->>'name', created_at, delivered_at FROM notifications "
        "WHERE alarm_id = %s ORDER BY created_at, id",
        alarm_id,
    )
    told = {step: sorted(n for t, r, n, *_ in sent if (t, r) == step) for step in due}
    assert told == {
        (1, 0): ["Duty"],
        (2, 0): ["Boss"],
        (3, 0): ["Daughter", "Worker"],
        (1, 1): ["Boss", "Duty"],
        (1, 2): ["Boss", "Daughter", "Duty", "Worker"],
    }
    for tier, reminder, name, created, delivered in sent:
        lag = (created - raised_at).total_seconds() - due[(tier, reminder)]
        assert 0 <= lag < TOLERANCE_S, (tier, reminder, name, lag)
        assert delivered is not None and created <= acked_at
    for path, step in [("duty", (1, 0)), ("supervisor", (2, 0)), ("family", (3, 0))]:
        arrival = rx.to(path)[0].at - raised_at.timestamp() - due[step]
        assert arrival < TOLERANCE_S, (path, arrival)
    assert all(r.at < acknowledged + 0.5 for r in rx.requests)

    timers = rows(
        db_url,
        "SELECT tier, reminder, state, extract(epoch FROM fired_at - due_at) "
        "FROM escalation_timers WHERE alarm_id = %s ORDER BY due_at",
        alarm_id,
    )
    assert [(t, r, s) for t, r, s, _ in timers] == [
        (1, 0, "fired"),
        (2, 0, "fired"),
        (1, 1, "fired"),
        (3, 0, "fired"),
        (1, 2, "fired"),
        (1, 3, "cancelled"),
    ]
    assert all(0 <= float(lag) < TOLERANCE_S for *_, state, lag in timers if state == "fired")
    events = rows(
        db_url,
        "SELECT action, actor, detail FROM alarm_events WHERE alarm_id = %s ORDER BY id",
        alarm_id,
    )
    actions = [a for a, _, _ in events if a != "notified"]
    assert actions == ["raised", "escalated", "reminded", "escalated", "reminded", "acknowledged"]
    [(_, actor, detail)] = [e for e in events if e[0] == "acknowledged"]
    assert actor == "Duty" and detail["via"] == "console"
    assert detail["cancelled"] == ["reminder 3"]


def test_acknowledgement_before_the_next_tier_cancels_it(db_url):
    with http_receiver() as rx, psycopg.connect(db_url) as conn:
        sid = site(conn)
        staff(conn, sid, "Duty", "duty", webhook(rx.url("duty")))
        staff(conn, sid, "Boss", "supervisor", webhook(rx.url("supervisor")))
        policy(conn, sid, [(1, 0, ["duty"]), (2, 1, ["supervisor"])], reminder_s=1)
        conn.commit()
        alarm_id, _ = raise_and_start(conn, trigger(Subject("resident", 5)))
        assert lifecycle.acknowledge(conn=conn, alarm_id=alarm_id, by="Duty", via="api")
        conn.commit()
        time.sleep(1.2)
        scheduler = EscalationScheduler(SchedulerConfig(db_url, escalation.Routing()))
        assert scheduler.run_once() == 0
        scheduler.close()

    assert rows(
        db_url, "SELECT tier, reminder, state FROM escalation_timers ORDER BY reminder, tier"
    ) == [(1, 0, "fired"), (2, 0, "cancelled"), (1, 1, "cancelled")]
    assert rows(db_url, "SELECT recipient->>'name' FROM notifications") == [("Duty",)]


def test_fire_reaches_the_monitoring_centre_in_the_raising_transaction(db_url):
    with http_receiver() as rx, psycopg.connect(db_url) as conn:
        sid = site(conn, kind="funeral")
        room = registry.create_location(conn=conn, site_uid="s1", name="Cremator 1")
        staff(conn, sid, "Duty", "duty", webhook(rx.url("duty")))
        conn.commit()
        routing = escalation.Routing(operator_channels=webhook(rx.url("centre")))
        fire = trigger(Subject("location", room), kind=AlarmKind.FIRE)
        with running(db_url, routing):
            alarm_id, enqueued = raise_and_start(conn, fire, routing)
            wait_until(lambda: len(rx.to("centre")) == 1, timeout_s=10, what="centre told")
    [(raised_at,)] = rows(db_url, "SELECT raised_at FROM alarms")

    assert enqueued == 2
    told = rows(db_url, "SELECT recipient->>'kind', tier, created_at FROM notifications")
    assert sorted((k, t) for k, t, _ in told) == [("operator", 1), ("staff", 1)]
    assert all(created == raised_at for *_, created in told)  # one transaction
    [request] = rx.to("centre")
    assert json.loads(request.body)["alarm"]["id"] == alarm_id
    assert request.at - raised_at.timestamp() < 10  # GB 26875: to the centre within 10 s


def test_a_failing_channel_is_retried_then_reported_and_cleared_when_it_recovers(db_url):
    with http_receiver() as rx, psycopg.connect(db_url) as conn:
        sid = site(conn)
        staff(conn, sid, "Duty", "duty", webhook(rx.url("duty")))
        conn.commit()
        rx.failing.add("/duty")
        routing = escalation.Routing(operator_channels=webhook(rx.url("operator")))
        with running(db_url, routing):
            alarm_id, _ = raise_and_start(conn, trigger(Subject("resident", 1)), routing)
            wait_until(lambda: len(rx.to("operator")) == 1, timeout_s=15, what="operator told")
            failed = rows(
                db_url,
                "SELECT id, severity, state, subject_kind, evidence FROM alarms "
                "WHERE kind = 'delivery_failed'",
            )
            rx.failing.clear()
            raise_and_start(conn, trigger(Subject("resident", 2)), routing)
            wait_until(
                lambda: count(db_url, "SELECT count(*) FROM alarms WHERE state = 'cleared'") == 1,
                timeout_s=10,
                what="delivery alarm cleared",
            )

    assert len(rx.to("duty")) == 3 + 1  # three attempts, then the next alarm gets through
    [(state, attempts)] = rows(
        db_url, "SELECT state, attempts FROM notifications WHERE alarm_id = %s", alarm_id
    )
    assert (state, attempts) == ("gave_up", 3)
    [(failed_id, severity, state, subject_kind, evidence)] = failed
    assert (severity, state, subject_kind) == (int(Severity.ALARM), "open", "channel")
    assert evidence["alarm_id"] == alarm_id and evidence["channel"] == "webhook"
    assert evidence["where"] == "http://127.0.0.1" and evidence["error"] == "HTTP 503"
    payload = json.loads(rx.to("operator")[0].body)
    assert payload["alarm"]["kind"] == "delivery_failed" and payload["alarm"]["id"] == failed_id
    assert rows(db_url, "SELECT state FROM alarms WHERE id = %s", failed_id) == [("cleared",)]


def test_a_repeat_with_higher_severity_replans_the_tiers_still_to_come(db_url):
    with psycopg.connect(db_url) as conn:
        sid = site(conn)
        staff(conn, sid, "Duty", "duty", webhook("http://127.0.0.1:9/x"))
        policy(conn, sid, [(1, 0, ["duty"]), (2, 600, ["supervisor"])], min_severity=3)
        urgent = policy(conn, sid, [(1, 0, ["duty"]), (2, 30, ["supervisor"])], min_severity=4)
        conn.commit()
        subject = Subject("resident", 3)
        alarm_id, _ = raise_and_start(conn, trigger(subject, severity=Severity.ALARM))
        raise_and_start(conn, trigger(subject, severity=Severity.CRITICAL))
    [(raised_at,)] = rows(db_url, "SELECT raised_at FROM alarms")

    timers = rows(
        db_url, "SELECT tier, state, policy_id, due_at FROM escalation_timers ORDER BY id"
    )
    assert [(t, s) for t, s, _, _ in timers] == [(1, "fired"), (2, "cancelled"), (2, "pending")]
    assert timers[2][2] == urgent and timers[2][3] == raised_at + timedelta(seconds=30)


def test_concurrent_schedulers_fire_each_timer_once(db_url):
    with psycopg.connect(db_url) as conn:
        sid = site(conn)
        staff(conn, sid, "Duty", "duty", webhook("http://127.0.0.1:9/duty"))
        staff(conn, sid, "Boss", "supervisor", webhook("http://127.0.0.1:9/boss"))
        policy(conn, sid, [(1, 0, ["duty"]), (2, 0.3, ["supervisor"])])
        conn.commit()
        for resident in range(30):
            raise_and_start(conn, trigger(Subject("resident", resident)))
    time.sleep(0.4)
    schedulers = [
        EscalationScheduler(SchedulerConfig(db_url, escalation.Routing(), batch=4))
        for _ in range(3)
    ]
    start = threading.Barrier(len(schedulers))

    def drain(scheduler: EscalationScheduler) -> None:
        start.wait()
        while scheduler.run_once():
            pass
        scheduler.close()

    threads = [threading.Thread(target=drain, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert count(db_url, "SELECT count(*) FROM notifications WHERE tier = 2") == 30
    assert rows(
        db_url,
        "SELECT count(*), count(DISTINCT alarm_id) FROM alarm_events WHERE action = 'escalated'",
    ) == [(30, 30)]


def test_an_idle_delivery_worker_wakes_on_a_new_message_not_on_its_poll(db_url):
    routing = escalation.Routing()
    with http_receiver() as rx, psycopg.connect(db_url) as conn:
        sid = site(conn)
        staff(conn, sid, "Duty", "duty", webhook(rx.url("duty")))
        conn.commit()
        stop = threading.Event()
        worker = DeliveryWorker(delivery_config(db_url, routing, poll_s=10))
        thread = threading.Thread(target=worker.run, args=(stop,))
        thread.start()
        try:
            time.sleep(0.5)  # the worker is now waiting out its 10 s poll
            raise_and_start(conn, trigger(Subject("resident", 1)))
            wait_until(lambda: len(rx.to("duty")) == 1, timeout_s=5, what="woken worker")
        finally:
            stop.set()
            thread.join(timeout=15)
