"""Signed acknowledgement links: they work once, and tampered or expired ones are refused."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import re
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller

from alerts import escalation
from alerts.acklink import (
    AckLinkExpired,
    AckLinkInvalid,
    AckLinks,
    AckLinkUsed,
    make_token,
    redeem,
    verify_token,
)
from alerts.delivery import DeliveryWorker
from alerts.models import Subject
from alerts.scheduler import EscalationScheduler, SchedulerConfig
from tests.alarm_setup import (
    ACK_SECRET,
    delivery_config,
    policy,
    raise_and_start,
    rows,
    site,
    staff,
    trigger,
    webhook,
)
from tests.receivers import http_receiver

NOW = 1_795_000_000.0


def _token(alarm_id: int = 7, ttl_s: float = 600) -> str:
    return make_token(
        alarm_id=alarm_id, recipient="Li Na (staff 3)", secret=ACK_SECRET, ttl_s=ttl_s, now=NOW
    )


def test_a_genuine_token_carries_its_claims():
    claims = verify_token(_token(), secret=ACK_SECRET, now=NOW + 599)
    assert (claims.alarm_id, claims.recipient) == (7, "Li Na (staff 3)")
    assert claims.expires_at == NOW + 600 and len(claims.jti) >= 16
    assert verify_token(_token(), secret=ACK_SECRET, now=NOW).jti != claims.jti


def _with_claims(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: _with_claims(t, aid=8),  # another alarm
        lambda t: _with_claims(t, exp=NOW + 10**6),  # longer life
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
        lambda t: t.rsplit(".", 1)[0],  # signature cut off
        lambda t: "not-a-token",
        lambda t: make_token(
            alarm_id=7,
            recipient="x",
            secret="another-secret-that-is-long-enough!!",
            ttl_s=60,
            now=NOW,
        ),
    ],
)
def test_a_tampered_token_is_refused(tamper):
    with pytest.raises(AckLinkInvalid, match="console"):
        verify_token(tamper(_token()), secret=ACK_SECRET, now=NOW)


def test_an_expired_token_is_refused():
    with pytest.raises(AckLinkExpired, match="expired"):
        verify_token(_token(ttl_s=600), secret=ACK_SECRET, now=NOW + 600)


def test_a_short_secret_is_refused_with_what_to_do():
    with pytest.raises(ValueError, match="ANXIN_ACK_SECRET"):
        AckLinks(public_url="https://anxin.example.org", secret="short")


def test_the_link_in_a_delivered_message_acknowledges_once(db_url):
    links = AckLinks(public_url="https://anxin.example.org/", secret=ACK_SECRET, ttl_s=600)
    routing = escalation.Routing(links=links)
    with http_receiver() as rx, psycopg.connect(db_url) as conn:
        sid = site(conn)
        li_na = staff(conn, sid, "Li Na", "duty", webhook(rx.url("duty")))
        conn.commit()
        alarm_id, _ = raise_and_start(conn, trigger(Subject("resident", 1)), routing)
        worker = DeliveryWorker(delivery_config(db_url, routing))
        assert worker.run_once() == 1
        worker.close()
        [request] = rx.to("duty")
        url = json.loads(request.body)["ack_url"]
        assert url.startswith("https://anxin.example.org/ack/")
        token = url.rsplit("/", 1)[1]

        first = redeem(conn=conn, token=token, secret=ACK_SECRET, now=time.time())
        conn.commit()
        with pytest.raises(AckLinkUsed, match="already used"):
            redeem(conn=conn, token=token, secret=ACK_SECRET, now=time.time())
        conn.rollback()

    assert first.acknowledged and first.claims.alarm_id == alarm_id
    assert rows(db_url, "SELECT state, acknowledged_by FROM alarms") == [
        ("acknowledged", f"Li Na (staff {li_na})")
    ]
    [(actor, detail)] = rows(
        db_url, "SELECT actor, detail FROM alarm_events WHERE action = 'acknowledged'"
    )
    assert actor == f"Li Na (staff {li_na})" and detail["via"] == "link"
    assert rows(db_url, "SELECT count(*) FROM ack_links_used") == [(1,)]


def test_a_link_to_an_alarm_someone_else_acknowledged_is_spent_but_changes_nothing(db_url):
    with psycopg.connect(db_url) as conn:
        site(conn)
        alarm_id, _ = raise_and_start(conn, trigger(Subject("resident", 1)))
        conn.execute(
            "UPDATE alarms SET state = 'acknowledged', acknowledged_by = 'Wang' WHERE id = %s",
            (alarm_id,),
        )
        outcome = redeem(
            conn=conn, token=_token(alarm_id, ttl_s=10**6), secret=ACK_SECRET, now=NOW + 1
        )
        conn.commit()
    assert not outcome.acknowledged
    assert rows(db_url, "SELECT acknowledged_by FROM alarms") == [("Wang",)]


def test_a_link_to_an_unknown_alarm_is_refused(db_url):
    with psycopg.connect(db_url) as conn, pytest.raises(AckLinkInvalid, match="no longer"):
        redeem(conn=conn, token=_token(999, ttl_s=10**6), secret=ACK_SECRET, now=NOW + 1)


def test_concurrent_clicks_on_one_link_acknowledge_once(db_url):
    with psycopg.connect(db_url) as conn:
        site(conn)
        alarm_id, _ = raise_and_start(conn, trigger(Subject("resident", 1)))
    token = _token(alarm_id, ttl_s=10**6)
    outcomes: list[object] = []

    def second_click() -> None:
        with psycopg.connect(db_url) as two:
            try:
                outcomes.append(redeem(conn=two, token=token, secret=ACK_SECRET, now=NOW + 1))
            except AckLinkUsed as exc:
                outcomes.append(exc)

    with psycopg.connect(db_url) as one:
        redeem(conn=one, token=token, secret=ACK_SECRET, now=NOW + 1)
        thread = threading.Thread(target=second_click)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive()  # the second click waits on the first one's transaction
        one.commit()
        thread.join(timeout=10)
    assert len(outcomes) == 1 and isinstance(outcomes[0], AckLinkUsed)
    assert rows(db_url, "SELECT count(*) FROM alarm_events WHERE action = 'acknowledged'") == [(1,)]


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


def test_an_escalation_e_mail_carries_a_working_link(db_url):
    links = AckLinks(public_url="https://anxin.example.org", secret=ACK_SECRET)
    routing = escalation.Routing(links=links)
    mailbox = _Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with psycopg.connect(db_url) as conn:
            sid = site(conn)
            staff(conn, sid, "Boss", "supervisor", [{"kind": "email", "to": "boss@example.org"}])
            policy(conn, sid, [(1, 0, ["duty"]), (2, 0.1, ["supervisor"])])
            conn.commit()
            alarm_id, _ = raise_and_start(conn, trigger(Subject("resident", 1)), routing)
        time.sleep(0.2)
        scheduler = EscalationScheduler(SchedulerConfig(db_url, routing))
        assert scheduler.run_once() == 1
        scheduler.close()
        smtp_url = f"mailto://127.0.0.1:{port}?from=anxin@example.org"
        worker = DeliveryWorker(delivery_config(db_url, routing, smtp_url=smtp_url))
        assert worker.run_once() == 1  # tier 1 found nobody: no message, a record
        worker.close()
    finally:
        smtp.stop()

    [envelope] = mailbox.messages
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(("plain", "html"))
    assert body is not None
    text = f"{message['Subject']}\n{body.get_content()}"
    assert "UNANSWERED" in text and "Nobody has acknowledged" in text
    [token] = re.findall(r"https://anxin\.example\.org/ack/([\w.-]+)", text)
    with psycopg.connect(db_url) as conn:
        assert redeem(conn=conn, token=token, secret=ACK_SECRET, now=time.time()).acknowledged
        conn.commit()
    assert rows(db_url, "SELECT state FROM alarms WHERE id = %s", alarm_id) == [("acknowledged",)]
