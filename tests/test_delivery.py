"""The outbox and its delivery worker against real servers: PostgreSQL, an HTTP receiver on a
loopback port, and an aiosmtpd SMTP server that Apprise sends e-mail to."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from psycopg.types.json import Jsonb

from alerts.delivery import DeliveryConfig, DeliveryWorker
from alerts.models import AlarmKind, Severity, Subject, Trigger
from alerts.outbox import RetryPolicy, claim_due, enqueue_for_alarm
from alerts.store import raise_alarm
from anxin import registry
from tests.helpers import count, wait_until

SECRET = "test-secret"
FAST = RetryPolicy(base_s=0.01, factor=2.0, cap_s=0.05, max_attempts=3)


@dataclass
class Receiver:
    """A real HTTP server: answers the scripted statuses in turn, then ``then``."""

    statuses: list[int] = field(default_factory=list)
    then: int = 200
    delay_s: float = 0.0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.then


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(state.delay_s)
            with state.lock:
                state.requests.append((dict(self.headers.items()), body))
            self.send_response(state.status())
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _config(db_url: str, **overrides: Any) -> DeliveryConfig:
    return DeliveryConfig(
        database_url=db_url, webhook_secret=SECRET, retry=FAST, timeout_s=2, **overrides
    )


def _alarm(
    db_url: str,
    staff: list[tuple[str, str, list[object]]],
    operator: list[object] | None = None,
) -> int:
    """A site with staff (role, name, channels) and a fall alarm, raised and enqueued in one
    transaction as the alarm service does."""
    with psycopg.connect(db_url) as conn:
        registry.create_site(conn=conn, uid="s1", name="Sunny Home", kind="care_home")
        for role, name, channels in staff:
            conn.execute(
                """INSERT INTO staff (site_id, name, role, channels)
                   SELECT id, %s, %s, %s FROM sites WHERE uid = 's1'""",
                (name, role, Jsonb(channels)),
            )
        trigger = Trigger(
            kind=AlarmKind.FALL,
            severity=Severity.CRITICAL,
            subject=Subject("resident", 1),
            site_uid="s1",
            title="Fall in room 101",
            at_ms=1_795_000_000_000,
        )
        alarm_id = raise_alarm(conn=conn, trigger=trigger).alarm_id
        enqueue_for_alarm(conn=conn, alarm_id=alarm_id, tier=1, operator_channels=operator or [])
        conn.commit()
    return alarm_id


def _drain(worker: DeliveryWorker, db_url: str, *, timeout_s: float = 10.0) -> None:
    """Run the worker until nothing is left to deliver (retries wait milliseconds)."""

    def done() -> bool:
        worker.run_once()
        return (
            count(
                db_url,
                "SELECT count(*) FROM notifications WHERE state IN ('pending','sending','failed')",
            )
            == 0
        )

    wait_until(done, timeout_s=timeout_s, what="outbox drained")


def _rows(db_url: str, query: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(query, params).fetchall()


def test_webhook_is_signed_and_carries_the_idempotency_key(db_url, receiver):
    alarm_id = _alarm(db_url, [("duty", "Li Na", [{"kind": "webhook", "url": receiver.url}])])
    worker = DeliveryWorker(_config(db_url))
    assert worker.run_once() == 1
    worker.close()

    assert len(receiver.requests) == 1
    headers, body = receiver.requests[0]
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Anxin-Signature"], f"sha256={expected}")
    assert headers["Content-Type"] == "application/json"
    [(key, state, attempts)] = _rows(
        db_url, "SELECT idempotency_key, state, attempts FROM notifications"
    )
    assert headers["X-Anxin-Idempotency-Key"] == key
    assert (state, attempts) == ("delivered", 1)
    payload = json.loads(body)
    assert payload["alarm"]["id"] == alarm_id
    assert payload["alarm"]["site"]["uid"] == "s1"
    assert payload["recipient"]["name"] == "Li Na"
    assert _rows(db_url, "SELECT ok, error FROM delivery_attempts") == [(True, None)]
    [(detail,)] = _rows(db_url, "SELECT detail FROM alarm_events WHERE action = 'notified'")
    assert detail["channel"] == "webhook" and "gave_up" not in detail


def test_notifications_belong_to_the_alarm_transaction(db_url, receiver):
    with psycopg.connect(db_url) as conn:
        registry.create_site(conn=conn, uid="s1", name="Home", kind="care_home")
        conn.execute(
            "INSERT INTO staff (site_id, name, role, channels) SELECT id, 'A', 'duty', %s "
            "FROM sites",
            (Jsonb([{"kind": "webhook", "url": receiver.url}]),),
        )
        conn.commit()
        trigger = Trigger(
            kind=AlarmKind.SOS,
            severity=Severity.CRITICAL,
            subject=Subject("resident", 2),
            site_uid="s1",
            title="SOS",
        )
        alarm_id = raise_alarm(conn=conn, trigger=trigger).alarm_id
        assert enqueue_for_alarm(conn=conn, alarm_id=alarm_id, tier=1) == 1
        assert enqueue_for_alarm(conn=conn, alarm_id=alarm_id, tier=1) == 0  # idempotent
        conn.rollback()
    assert count(db_url, "SELECT count(*) FROM notifications") == 0


def test_failing_receiver_is_retried_until_delivered(db_url, receiver):
    receiver.statuses = [500, 500]
    _alarm(db_url, [("duty", "Li Na", [{"kind": "webhook", "url": receiver.url}])])
    worker = DeliveryWorker(_config(db_url))
    _drain(worker, db_url)
    worker.close()

    assert [(s, a) for s, a in _rows(db_url, "SELECT state, attempts FROM notifications")] == [
        ("delivered", 3)
    ]
    assert _rows(db_url, "SELECT attempt, ok, error FROM delivery_attempts ORDER BY id") == [
        (1, False, "HTTP 500"),
        (2, False, "HTTP 500"),
        (3, True, None),
    ]
    keys = {headers["X-Anxin-Idempotency-Key"] for headers, _ in receiver.requests}
    assert len(receiver.requests) == 3 and len(keys) == 1


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    policy = RetryPolicy(base_s=1.0, factor=2.0, cap_s=300.0)
    for attempts, full in [(1, 1.0), (2, 2.0), (5, 16.0), (20, 300.0)]:
        delays = [policy.delay_s(attempts) for _ in range(50)]
        assert all(full * 0.5 <= d <= full for d in delays)
        assert len(set(delays)) > 1


def test_always_failing_receiver_gives_up_and_tells_the_operator(db_url, receiver, caplog):
    receiver.then = 503
    alarm_id = _alarm(db_url, [("duty", "Li Na", [{"kind": "webhook", "url": receiver.url}])])
    worker = DeliveryWorker(_config(db_url))
    with caplog.at_level(logging.ERROR, logger="alerts.outbox"):
        _drain(worker, db_url)
    worker.close()

    assert _rows(
        db_url,
        "SELECT state, attempts, last_error FROM notifications WHERE alarm_id = %s",
        alarm_id,
    ) == [("gave_up", FAST.max_attempts, "HTTP 503")]
    assert len(receiver.requests) == FAST.max_attempts
    assert count(db_url, "SELECT count(*) FROM delivery_attempts WHERE NOT ok") == 3
    [(detail,)] = _rows(
        db_url,
        "SELECT detail FROM alarm_events WHERE alarm_id = %s AND action = 'notified'",
        alarm_id,
    )
    assert detail["gave_up"] is True and detail["error"] == "HTTP 503"
    assert any("gave up" in r.getMessage() for r in caplog.records)


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_email_goes_through_apprise_to_a_real_smtp_server(db_url):
    mailbox = _Mailbox()
    port = _free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        _alarm(db_url, [("duty", "Li Na", [{"kind": "email", "to": "li.na@example.org"}])])
        worker = DeliveryWorker(
            _config(db_url, smtp_url=f"mailto://127.0.0.1:{port}?from=anxin@example.org")
        )
        assert worker.run_once() == 1
        worker.close()
    finally:
        smtp.stop()

    assert _rows(db_url, "SELECT channel, state FROM notifications") == [("email", "delivered")]
    [message] = mailbox.messages
    assert message.rcpt_tos == ["li.na@example.org"]
    assert b"Fall in room 101" in message.content


def test_concurrent_workers_never_deliver_one_notification_twice(db_url, receiver):
    receiver.delay_s = 0.005
    channels: list[object] = [
        {"kind": "webhook", "url": f"{receiver.url}?n={i}"} for i in range(24)
    ]
    _alarm(db_url, [("duty", "Li Na", channels)])
    workers = [DeliveryWorker(_config(db_url, batch=2)) for _ in range(2)]
    start = threading.Barrier(len(workers))

    def drain(worker: DeliveryWorker) -> None:
        start.wait()
        while worker.run_once():
            pass
        worker.close()

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    keys = [headers["X-Anxin-Idempotency-Key"] for headers, _ in receiver.requests]
    assert len(keys) == 24 and len(set(keys)) == 24
    assert count(db_url, "SELECT count(*) FROM notifications WHERE state = 'delivered'") == 24
    assert count(db_url, "SELECT count(*) FROM delivery_attempts") == 24


def test_no_duty_staff_falls_back_to_the_operator_channel(db_url, receiver):
    alarm_id = _alarm(
        db_url,
        [
            ("supervisor", "Boss", [{"kind": "webhook", "url": receiver.url}]),
            ("duty", "No channels", []),
            ("duty", "Broken", [{"kind": "webhook", "url": "ftp://x"}, 42]),
        ],
        operator=[{"kind": "webhook", "url": receiver.url}],
    )
    [(recipient, state)] = _rows(db_url, "SELECT recipient, state FROM notifications")
    assert recipient["kind"] == "operator" and state == "pending"
    worker = DeliveryWorker(_config(db_url))
    assert worker.run_once() == 1
    worker.close()
    assert json.loads(receiver.requests[0][1])["alarm"]["id"] == alarm_id


def test_an_alarm_nobody_can_receive_still_has_a_delivery_record(db_url, caplog):
    with caplog.at_level(logging.ERROR, logger="alerts.outbox"):
        alarm_id = _alarm(db_url, [])
    assert _rows(db_url, "SELECT alarm_id, channel, state FROM notifications") == [
        (alarm_id, "none", "gave_up")
    ]
    [(detail,)] = _rows(db_url, "SELECT detail FROM alarm_events WHERE action = 'notified'")
    assert detail["gave_up"] is True
    assert any("reaches nobody" in r.getMessage() for r in caplog.records)


def test_apprise_channel_failure_is_a_failed_attempt(db_url):
    port = _free_port()  # nothing listens there
    _alarm(db_url, [("duty", "Li Na", [f"json://127.0.0.1:{port}/"])])
    worker = DeliveryWorker(_config(db_url))
    assert worker.run_once() == 1
    worker.close()
    [(channel, state, error)] = _rows(
        db_url, "SELECT channel, state, last_error FROM notifications"
    )
    assert (channel, state) == ("apprise", "failed")
    assert error.startswith("Apprise: ")


def test_a_claim_skips_rows_another_worker_holds_without_waiting(db_url, receiver):
    channels: list[object] = [{"kind": "webhook", "url": f"{receiver.url}?n={i}"} for i in range(6)]
    _alarm(db_url, [("duty", "Li Na", channels)])
    with psycopg.connect(db_url) as first, psycopg.connect(db_url) as second:
        second.execute("SET statement_timeout = '2s'")  # waiting on a lock fails the test
        held = claim_due(conn=first, limit=4, lease_s=60)  # not committed: rows stay locked
        other = claim_due(conn=second, limit=10, lease_s=60)
        assert len(held) == 4 and len(other) == 2
        assert not {n.id for n in held} & {n.id for n in other}


def test_run_loop_delivers_until_stopped(db_url, receiver):
    worker = DeliveryWorker(_config(db_url, poll_s=0.02))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        _alarm(db_url, [("duty", "Li Na", [{"kind": "webhook", "url": receiver.url}])])
        wait_until(lambda: len(receiver.requests) == 1, timeout_s=5, what="webhook received")
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
    assert count(db_url, "SELECT count(*) FROM notifications WHERE state = 'delivered'") == 1
