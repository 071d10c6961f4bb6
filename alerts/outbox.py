"""The delivery outbox: who is told about an alarm, and the state of each message to them.

Notifications are inserted in the same transaction as the alarm (``alerts.escalation`` runs
``enqueue_for_alarm`` for the first tier right after ``raise_alarm`` created one, and for each
later tier in the transaction that records the escalation), so an alarm never exists without a
delivery record, and a crash cannot send a message for an alarm that
was rolled back. Workers drain the table with ``claim_due`` (``FOR UPDATE SKIP LOCKED``: any
number of workers, none sees a row another holds). A claim is a lease: the row becomes
``sending`` with ``next_attempt_at`` = lease expiry and is committed before the network call,
so no transaction stays open while a slow server answers, and a worker killed mid-send only
delays the message until the lease ends (at-least-once; receivers dedupe on the idempotency
key). ``attempts`` is counted at claim time, so a message that crashes its worker still
reaches the bound and gives up.

Functions take a keyword-only connection and do not commit.

Channel format: ``staff.channels`` (and the operator fallback setting) is a JSON list whose
items are one of

- ``"dingtalk://token/"``: a string is an Apprise URL (DingTalk, WeCom, Feishu, SMS gateways,
  anything Apprise supports); delivered through Apprise;
- ``{"kind": "apprise", "url": "..."}``: the same, spelled out;
- ``{"kind": "webhook", "url": "https://..."}``: an HTTP POST of the JSON payload, signed with
  HMAC-SHA256 and carrying an idempotency key (see ``alerts.delivery``);
- ``{"kind": "email", "to": "name@example.org"}``: an e-mail through the operator's SMTP
  server (an Apprise ``mailto(s)://`` URL in the settings), so no mail password lives in the
  registry.

An invalid item is logged and skipped: one bad entry must not stop the alarm transaction.

Every message carries a signed acknowledgement link for its recipient (``ack_url`` in the
payload) when ``AckLinks`` are configured.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.types.json import Jsonb

from alerts import roster
from alerts.acklink import AckLinks
from alerts.store import record_event

logger = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]

ACTOR = "delivery"


@dataclass(frozen=True)
class Channel:
    """One parsed channel entry: ``kind`` is 'webhook', 'email' or 'apprise'."""

    kind: str
    target: str


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded. Defaults: first retry after about 1 s (a
    receiver that blinked), doubling, at most 5 min apart (an outage should not be hammered,
    but an alarm must not wait longer), 8 attempts (about 4 min of trying) before giving up
    and telling the operator."""

    base_s: float = 1.0
    factor: float = 2.0
    cap_s: float = 300.0
    max_attempts: int = 8

    def delay_s(self, attempts: int) -> float:
        """Delay after the ``attempts``-th failure: half fixed, half random, so that workers
        retrying one outage spread out instead of arriving together."""
        delay = min(self.cap_s, self.base_s * self.factor ** max(0, attempts - 1))
        return delay * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Notification:
    id: int
    alarm_id: int
    channel: str
    target: str
    recipient: dict[str, Any]
    tier: int
    payload: dict[str, Any]
    idempotency_key: str
    attempts: int


def parse_channel(item: object) -> Channel | None:
    """One entry of a channel list (format in the module docstring); ``None`` if invalid."""
    if isinstance(item, str):
        item = {"kind": "apprise", "url": item}
    if not isinstance(item, dict):
        return None
    kind = item.get("kind")
    if kind == "webhook":
        url = item.get("url")
        if isinstance(url, str) and urlsplit(url).scheme in ("http", "https"):
            return Channel("webhook", url)
    elif kind == "apprise":
        url = item.get("url")
        if isinstance(url, str) and "://" in url:
            return Channel("apprise", url)
    elif kind == "email":
        to = item.get("to")
        if isinstance(to, str) and "@" in to:
            return Channel("email", to)
    return None


def parse_channels(items: object, *, owner: str) -> list[Channel]:
    if not isinstance(items, list):
        logger.warning("channels of %s are not a JSON list; ignored", owner)
        return []
    channels = []
    for index, item in enumerate(items):
        channel = parse_channel(item)
        if channel is None:
            logger.warning("channel %d of %s is invalid; ignored", index, owner)
        else:
            channels.append(channel)
    return channels


def _alarm_payload(conn: Conn, alarm_id: int) -> dict[str, Any]:
    row = conn.execute(
        """SELECT a.id, a.kind, a.severity, a.state::text, a.title, a.subject_kind,
                  a.subject_id, a.site_id, s.uid, s.name, a.first_seen_at, a.raised_at
           FROM alarms a JOIN sites s ON s.id = a.site_id WHERE a.id = %s""",
        (alarm_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"alarm {alarm_id} does not exist")
    return {
        "id": row[0],
        "kind": row[1],
        "severity": row[2],
        "state": row[3],
        "title": row[4],
        "subject": {"kind": row[5], "id": row[6]},
        "site": {"id": row[7], "uid": row[8], "name": row[9]},
        "first_seen_at": row[10].isoformat(),
        "raised_at": row[11].isoformat(),
    }


def _key(
    alarm_id: int, tier: int, reminder: int, recipient: dict[str, Any], channel: Channel
) -> str:
    """Stable for one alarm, tier, reminder, recipient and channel: enqueueing twice is a no-op
    and a receiver sees the same key on every retry."""
    digest = hashlib.sha256(f"{channel.kind}\0{channel.target}".encode()).hexdigest()[:16]
    again = f"-r{reminder}" if reminder else ""
    return f"anxin-a{alarm_id}-t{tier}{again}-{recipient['kind']}{recipient.get('id', '')}-{digest}"


def recipient_label(recipient: dict[str, Any]) -> str:
    """Who acknowledged through a link, as the audit shows it: "Li Na (staff 3)"."""
    name = recipient.get("name", "")
    if "id" in recipient:
        return f"{name} ({recipient['kind']} {recipient['id']})"
    return f"{name} ({recipient['kind']})"


def _event(tier: int, reminder: int) -> str:
    if reminder:
        return "alarm.reminder"
    return "alarm.raised" if tier == 1 else "alarm.escalated"


@dataclass(frozen=True)
class _Message:
    """What one tier (or reminder) of one alarm says; the same for all its recipients."""

    alarm_id: int
    tier: int
    reminder: int
    alarm: dict[str, Any]
    links: AckLinks | None


def _insert(
    conn: Conn,
    message: _Message,
    recipient: dict[str, Any],
    channel: Channel,
    *,
    state: str = "pending",
    error: str | None = None,
) -> int:
    payload: dict[str, Any] = {
        "event": _event(message.tier, message.reminder),
        "tier": message.tier,
        "reminder": message.reminder,
        "recipient": recipient,
        "alarm": message.alarm,
    }
    if message.links is not None and channel.kind != "none":
        payload["ack_url"] = message.links.url(
            alarm_id=message.alarm_id, recipient=recipient_label(recipient), now=time.time()
        )
    row = conn.execute(
        """INSERT INTO notifications (alarm_id, channel, target, recipient, tier, reminder,
                                      payload, idempotency_key, state, last_error)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING id""",
        (
            message.alarm_id,
            channel.kind,
            channel.target,
            Jsonb(recipient),
            message.tier,
            message.reminder,
            Jsonb(payload),
            _key(message.alarm_id, message.tier, message.reminder, recipient, channel),
            state,
            error,
        ),
    ).fetchone()
    return 0 if row is None else 1


def _targets(
    conn: Conn,
    *,
    alarm: dict[str, Any],
    audiences: Sequence[str],
    operator_channels: Sequence[object],
) -> list[tuple[dict[str, Any], Channel]]:
    targets: list[tuple[dict[str, Any], Channel]] = []
    for name in audiences:
        if name == "operator":
            who = {"kind": "operator", "name": "monitoring centre"}
            channels = parse_channels(list(operator_channels), owner="the operator channels")
            targets.extend((who, channel) for channel in channels)
            continue
        people = roster.audience(
            conn=conn, alarm_id=alarm["id"], site_id=alarm["site"]["id"], name=name
        )
        for person in people:
            owner = f"{person.who['kind']} {person.who['id']}"
            for channel in parse_channels(person.channels, owner=owner):
                targets.append((person.who, channel))
    # one message per person and channel, even if two audiences name the same person
    unique = {(w["kind"], w.get("id"), c.kind, c.target): (w, c) for w, c in targets}
    return list(unique.values())


def enqueue_for_alarm(
    *,
    conn: Conn,
    alarm_id: int,
    tier: int,
    operator_channels: Sequence[object] = (),
    audiences: Sequence[str] = ("duty",),
    links: AckLinks | None = None,
    reminder: int = 0,
    first: bool = True,
) -> int:
    """Insert one notification per channel of each recipient of ``audiences`` (see
    ``alerts.roster``; ``operator`` is ``operator_channels``); returns how many.

    For the ``first`` step of an alarm, nobody reachable is not an option: the operator
    channels get the alarm instead, and if those are not configured either, a ``none``
    notification in state ``gave_up`` is written and logged, so that the gap itself is on
    record and visible rather than silent. A later tier with nobody reachable adds nothing
    (its escalation event records zero messages).
    """
    alarm = _alarm_payload(conn, alarm_id)
    message = _Message(alarm_id=alarm_id, tier=tier, reminder=reminder, alarm=alarm, links=links)
    targets = _targets(conn, alarm=alarm, audiences=audiences, operator_channels=operator_channels)
    if not targets and first and "operator" not in audiences:
        operator = {"kind": "operator", "name": "operator fallback"}
        fallback = parse_channels(list(operator_channels), owner="the operator fallback")
        targets = [(operator, channel) for channel in fallback]
        logger.warning(
            "alarm %d: nobody reachable among %s; operator fallback used", alarm_id, audiences
        )
    if not targets and first:
        return _record_unreachable(conn, message)
    return sum(_insert(conn, message, who, channel) for who, channel in targets)


def record_silenced(*, conn: Conn, alarm_id: int, tier: int, detail: dict[str, Any]) -> None:
    """The delivery record of an alarm nobody is told about because a silence covers it."""
    alarm = _alarm_payload(conn, alarm_id)
    message = _Message(alarm_id=alarm_id, tier=tier, reminder=0, alarm=alarm, links=None)
    recipient = {"kind": "nobody", "name": "silenced", **detail}
    _insert(
        conn,
        message,
        recipient,
        Channel("none", ""),
        state="silenced",
        error="covered by a silence",
    )


def _record_unreachable(conn: Conn, message: _Message) -> int:
    logger.error(
        "alarm %d reaches nobody: no recipient channel and no operator fallback",
        message.alarm_id,
    )
    recipient = {"kind": "operator", "name": "nobody configured"}
    count = _insert(
        conn,
        message,
        recipient,
        Channel("none", ""),
        state="gave_up",
        error="no recipient channel and no operator fallback configured",
    )
    record_event(
        conn=conn,
        alarm_id=message.alarm_id,
        actor=ACTOR,
        action="notified",
        detail={"gave_up": True, "tier": message.tier, "error": "nobody reachable"},
    )
    return count


def claim_due(*, conn: Conn, limit: int, lease_s: float) -> list[Notification]:
    """Lease up to ``limit`` due notifications to this worker (commit before sending).

    Due: pending or failed whose time has come, or sending whose lease expired (its worker
    died). ``SKIP LOCKED`` lets concurrent workers claim disjoint rows without waiting.
    """
    rows = conn.execute(
        """UPDATE notifications n
           SET state = 'sending', attempts = n.attempts + 1,
               next_attempt_at = now() + make_interval(secs => %(lease)s)
           FROM (SELECT id FROM notifications
                 WHERE state IN ('pending', 'failed', 'sending') AND next_attempt_at <= now()
                 ORDER BY next_attempt_at
                 LIMIT %(limit)s
                 FOR UPDATE SKIP LOCKED) due
           WHERE n.id = due.id
           RETURNING n.id, n.alarm_id, n.channel, n.target, n.recipient, n.tier, n.payload,
                     n.idempotency_key, n.attempts""",
        {"lease": lease_s, "limit": limit},
    ).fetchall()
    claimed = [
        Notification(
            id=r[0],
            alarm_id=r[1],
            channel=r[2],
            target=r[3],
            recipient=r[4],
            tier=r[5],
            payload=r[6],
            idempotency_key=r[7],
            attempts=r[8],
        )
        for r in rows
    ]
    return sorted(claimed, key=lambda n: n.id)


def _attempt(conn: Conn, n: Notification, *, ok: bool, error: str | None, ms: int) -> None:
    conn.execute(
        """INSERT INTO delivery_attempts (notification_id, attempt, ok, error, duration_ms)
           VALUES (%s, %s, %s, %s, %s)""",
        (n.id, n.attempts, ok, error, ms),
    )


def _still_ours(conn: Conn, n: Notification) -> bool:
    """The claim is a fencing token: if the lease expired and another worker re-claimed the
    row (attempts moved on), this worker's late result must not overwrite that one's."""
    row = conn.execute(
        "SELECT 1 FROM notifications WHERE id = %s AND state = 'sending' AND attempts = %s "
        "FOR UPDATE",
        (n.id, n.attempts),
    ).fetchone()
    return row is not None


def mark_delivered(*, conn: Conn, notification: Notification, duration_ms: int) -> None:
    _attempt(conn, notification, ok=True, error=None, ms=duration_ms)
    if not _still_ours(conn, notification):
        logger.warning("notification %d: delivered after its lease expired", notification.id)
        return
    conn.execute(
        """UPDATE notifications SET state = 'delivered', delivered_at = now(), last_error = NULL
           WHERE id = %s""",
        (notification.id,),
    )
    record_event(
        conn=conn,
        alarm_id=notification.alarm_id,
        actor=ACTOR,
        action="notified",
        detail=_event_detail(notification),
    )


def mark_failed(
    *, conn: Conn, notification: Notification, error: str, duration_ms: int, policy: RetryPolicy
) -> str:
    """Record a failed attempt; schedule the next one, or give up after the bound. Giving up
    is written to the alarm's audit trail with ``gave_up`` and logged as an error, since the
    operator must step in. Returns the new state."""
    _attempt(conn, notification, ok=False, error=error, ms=duration_ms)
    if not _still_ours(conn, notification):
        return "sending"
    if notification.attempts >= policy.max_attempts:
        conn.execute(
            "UPDATE notifications SET state = 'gave_up', last_error = %s WHERE id = %s",
            (error, notification.id),
        )
        record_event(
            conn=conn,
            alarm_id=notification.alarm_id,
            actor=ACTOR,
            action="notified",
            detail={**_event_detail(notification), "gave_up": True, "error": error},
        )
        logger.error(
            "notification %d of alarm %d gave up after %d attempts via %s: %s",
            notification.id,
            notification.alarm_id,
            notification.attempts,
            notification.channel,
            error,
        )
        return "gave_up"
    conn.execute(
        """UPDATE notifications SET state = 'failed', last_error = %s,
               next_attempt_at = now() + make_interval(secs => %s)
           WHERE id = %s""",
        (error, policy.delay_s(notification.attempts), notification.id),
    )
    return "failed"


def _event_detail(n: Notification) -> dict[str, Any]:
    """What the alarm's audit trail shows; not the target, which may embed a bot token."""
    return {
        "notification_id": n.id,
        "channel": n.channel,
        "recipient": n.recipient,
        "tier": n.tier,
        "attempt": n.attempts,
    }
