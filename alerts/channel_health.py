"""Operator alarms about delivery targets that stopped working.

A notification that gives up after its retry bound means a person was not told: that is itself
an alarm (``delivery_failed``, severity ALARM) for the operator and the site's managers, through
the normal escalation (default policy: docs/alarms.md). Its subject is the target (a webhook
URL, an address, an Apprise URL), as a 63-bit hash so the target, which may embed a bot token,
never appears in the alarm: one active alarm per failing target, repeated for each further
message it loses, and auto-cleared (kept on record) when a message to it is delivered again.

Functions take a keyword-only connection and do not commit.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import urlsplit

import psycopg

from alerts import escalation
from alerts.models import AlarmKind, Severity, Subject, Trigger
from alerts.outbox import Notification
from alerts.store import clear_alarm, raise_alarm

Conn = psycopg.Connection[Any]

ACTOR = "delivery"


def channel_subject(channel: str, target: str) -> Subject:
    digest = hashlib.sha256(f"{channel}\0{target}".encode()).digest()
    return Subject("channel", int.from_bytes(digest[:8], "big") >> 1)


def _where(channel: str, target: str) -> str:
    """A hint for the operator that reveals no secret: the URL's scheme and host."""
    if channel == "email":
        return "e-mail to @" + target.rpartition("@")[2]
    parts = urlsplit(target)
    return f"{parts.scheme}://{parts.hostname or ''}"


def report_gave_up(
    *, conn: Conn, notification: Notification, error: str, routing: escalation.Routing
) -> int:
    """Raise (or repeat) the delivery-failed alarm of the notification's target; returns its
    id."""
    row = conn.execute(
        "SELECT s.uid FROM alarms a JOIN sites s ON s.id = a.site_id WHERE a.id = %s",
        (notification.alarm_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"alarm {notification.alarm_id} does not exist")
    who = notification.recipient.get("name") or notification.recipient.get("kind", "?")
    trigger = Trigger(
        kind=AlarmKind.DELIVERY_FAILED,
        severity=Severity.ALARM,
        subject=channel_subject(notification.channel, notification.target),
        site_uid=str(row[0]),
        title=f"Messages to {who} via {notification.channel} are failing",
        evidence={
            "rule": "delivery_gave_up",
            "notification_id": notification.id,
            "alarm_id": notification.alarm_id,
            "channel": notification.channel,
            "where": _where(notification.channel, notification.target),
            "recipient": notification.recipient,
            "attempts": notification.attempts,
            "error": error,
        },
        at_ms=time.time_ns() // 1_000_000,
    )
    result = raise_alarm(conn=conn, trigger=trigger, actor=ACTOR)
    if result.created:
        escalation.start(conn=conn, alarm_id=result.alarm_id, routing=routing)
    return result.alarm_id


def report_delivered(*, conn: Conn, notification: Notification) -> int | None:
    """A message reached its target: clear that target's delivery-failed alarm, if open."""
    trigger = Trigger(
        kind=AlarmKind.DELIVERY_FAILED,
        severity=Severity.ALARM,
        subject=channel_subject(notification.channel, notification.target),
        site_uid="",
        title="",
        evidence={"notification_id": notification.id, "delivered": True},
        at_ms=time.time_ns() // 1_000_000,
        clear=True,
    )
    return clear_alarm(conn=conn, trigger=trigger, actor=ACTOR)
