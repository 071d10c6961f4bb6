"""Building blocks for escalation tests: a site with staff and contacts, policies, alarms."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from alerts import escalation
from alerts.delivery import DeliveryConfig, DeliveryWorker
from alerts.models import AlarmKind, Severity, Subject, Trigger
from alerts.outbox import RetryPolicy
from alerts.policies import Step, set_policy
from alerts.scheduler import EscalationScheduler, SchedulerConfig
from alerts.store import raise_alarm
from anxin import registry

SECRET = "test-webhook-secret"
ACK_SECRET = "a-test-acknowledgement-link-secret-of-enough-bytes"
NOW_MS = 1_795_000_000_000

Conn = psycopg.Connection[Any]


def site(conn: Conn, uid: str = "s1", kind: str = "care_home") -> int:
    return registry.create_site(conn=conn, uid=uid, name=f"Site {uid}", kind=kind).id


def webhook(url: str) -> list[object]:
    return [{"kind": "webhook", "url": url}]


def staff(conn: Conn, site_id: int, name: str, role: str, channels: list[object]) -> int:
    row = conn.execute(
        "INSERT INTO staff (site_id, name, role, channels) VALUES (%s, %s, %s, %s) RETURNING id",
        (site_id, name, role, Jsonb(channels)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def contact(
    conn: Conn,
    site_id: int,
    name: str,
    kind: str,
    channels: list[object],
    *,
    resident_id: int | None = None,
    tier: str | None = None,
    priority: int = 1,
) -> int:
    row = conn.execute(
        """INSERT INTO contacts (site_id, resident_id, name, kind, tier, priority, channels)
           VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
        (site_id, resident_id, name, kind, tier, priority, Jsonb(channels)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def policy(
    conn: Conn,
    site_id: int,
    steps: Sequence[tuple[int, float, Sequence[str]]],
    *,
    reminder_s: float | None = None,
    min_severity: int = 1,
) -> int:
    return set_policy(
        conn=conn,
        site_id=site_id,
        steps=[Step(tier=t, delay_s=d, audiences=tuple(a)) for t, d, a in steps],
        reminder_s=reminder_s,
        min_severity=min_severity,
    )


def trigger(
    subject: Subject,
    *,
    kind: AlarmKind = AlarmKind.SOS,
    severity: Severity = Severity.CRITICAL,
    site_uid: str = "s1",
    device_id: int | None = None,
) -> Trigger:
    return Trigger(
        kind=kind,
        severity=severity,
        subject=subject,
        site_uid=site_uid,
        title=f"{kind.value} test alarm",
        device_id=device_id,
        at_ms=NOW_MS,
    )


def raise_and_start(
    conn: Conn, t: Trigger, routing: escalation.Routing | None = None
) -> tuple[int, int]:
    """Raise like the alerts worker does (alarm and first tier in one transaction); returns
    the alarm id and the notifications enqueued at once."""
    result = raise_alarm(conn=conn, trigger=t)
    routing = routing or escalation.Routing()
    if result.created:
        enqueued = escalation.start(conn=conn, alarm_id=result.alarm_id, routing=routing)
    else:
        enqueued = escalation.on_repeat(conn=conn, result=result, routing=routing)
    conn.commit()
    return result.alarm_id, enqueued


def delivery_config(db_url: str, routing: escalation.Routing, **overrides: Any) -> DeliveryConfig:
    settings: dict[str, Any] = {
        "retry": RetryPolicy(base_s=0.01, factor=2.0, cap_s=0.05, max_attempts=3),
        "timeout_s": 2,
        "poll_s": 0.05,
        **overrides,
    }
    return DeliveryConfig(database_url=db_url, webhook_secret=SECRET, routing=routing, **settings)


@contextmanager
def running(db_url: str, routing: escalation.Routing) -> Iterator[None]:
    """A delivery worker and an escalation scheduler in threads, as ``anxin deliver`` runs."""
    stop = threading.Event()
    worker = DeliveryWorker(delivery_config(db_url, routing))
    scheduler = EscalationScheduler(SchedulerConfig(db_url, routing, poll_s=0.25))
    threads = [
        threading.Thread(target=worker.run, args=(stop,)),
        threading.Thread(target=scheduler.run, args=(stop,)),
    ]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


def rows(db_url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(query, params).fetchall()
