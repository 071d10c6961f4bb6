"""Escalation: who is told about an alarm, when, until a person acknowledges it.

A new alarm gets the timeline of its policy (``escalation_policies`` / ``escalation_steps``,
defaults and their reasons in ``docs/alarms.md``): one timer per tier at ``raised_at + delay``.
Steps due at once (tier 1) fire in the raising transaction, so the alarm and its first
notifications commit together; later ones are fired by ``alerts.scheduler``, which enqueues the
tier's notifications in the same transaction that records the 'escalated' event. Every
``reminder_s`` after the alarm was raised, everyone reached so far is reminded, until the alarm
is acknowledged, resolved, cleared or silenced; each of those cancels the pending timers
(``alerts.lifecycle``).

An alarm covered by a silence (``alerts.silences``) is recorded, marked silenced, and gets a
delivery record in state 'silenced' instead of a timeline; if it is still open when the silence
is over, the scheduler starts its escalation then. If its severity rises to one with another
policy, the tiers not yet reached are re-planned from the new policy.

Functions take a keyword-only connection and do not commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg

from alerts import outbox, timers
from alerts.acklink import AckLinks
from alerts.policies import Policy, policy_for
from alerts.silences import silence_for_alarm
from alerts.store import RaiseResult, record_event
from anxin.settings import Settings

logger = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]

ACTOR = "escalation"


@dataclass(frozen=True)
class Routing:
    """What the escalation needs beyond the database: the operator (monitoring centre)
    channels, and how to sign acknowledgement links (``None``: messages carry no link)."""

    operator_channels: Sequence[object] = field(default_factory=tuple)
    links: AckLinks | None = None


def routing_from(settings: Settings) -> Routing:
    """The routing of a service, from its settings (links only when both URL and secret are
    set; a deployment without them is logged, since messages then carry no link)."""
    links = None
    if settings.public_url and settings.ack_secret:
        links = AckLinks(
            public_url=settings.public_url,
            secret=settings.ack_secret,
            ttl_s=settings.ack_link_ttl_s,
        )
    else:
        logger.warning(
            "ANXIN_PUBLIC_URL or ANXIN_ACK_SECRET is not set: messages carry no "
            "acknowledgement link"
        )
    return Routing(operator_channels=tuple(settings.delivery_operator_channels), links=links)


@dataclass(frozen=True)
class _Alarm:
    id: int
    site_id: int
    kind: str
    severity: int
    raised_at: datetime


def _alarm(conn: Conn, alarm_id: int) -> _Alarm:
    row = conn.execute(
        "SELECT id, site_id, kind, severity, raised_at FROM alarms WHERE id = %s", (alarm_id,)
    ).fetchone()
    if row is None:
        raise LookupError(f"alarm {alarm_id} does not exist")
    return _Alarm(id=row[0], site_id=row[1], kind=row[2], severity=row[3], raised_at=row[4])


def start(*, conn: Conn, alarm_id: int, routing: Routing) -> int:
    """Begin a new alarm's escalation (or record why nobody is told); returns how many
    notifications were enqueued now."""
    alarm = _alarm(conn, alarm_id)
    silence = silence_for_alarm(conn=conn, alarm_id=alarm_id)
    if silence is not None:
        detail = {
            "silence_id": silence.id,
            "reason": silence.reason,
            "owner": silence.owner,
            "until": silence.ends_at.isoformat(),
        }
        conn.execute(
            "UPDATE alarms SET silenced = true, silence_id = %s WHERE id = %s",
            (silence.id, alarm_id),
        )
        record_event(conn=conn, alarm_id=alarm_id, actor=ACTOR, action="silenced", detail=detail)
        outbox.record_silenced(conn=conn, alarm_id=alarm_id, tier=1, detail=detail)
        return 0
    policy = policy_for(conn=conn, site_id=alarm.site_id, kind=alarm.kind, severity=alarm.severity)
    return _plan(conn, alarm, policy, since=alarm.raised_at, after_tier=0, routing=routing)


def _plan(
    conn: Conn, alarm: _Alarm, policy: Policy, *, since: datetime, after_tier: int, routing: Routing
) -> int:
    """Add the policy's timers for tiers above ``after_tier`` and the next reminder; fire
    the steps due at once."""
    if not policy.steps:
        raise LookupError(f"escalation policy {policy.id} has no steps; give it at least tier 1")
    immediate: list[timers.Timer] = []
    for step in policy.steps:
        if step.tier <= after_tier:
            continue
        timer = timers.add(
            conn=conn,
            alarm_id=alarm.id,
            policy_id=policy.id,
            tier=step.tier,
            audiences=step.audiences,
            due_at=since + timedelta(seconds=step.delay_s),
        )
        if timer is not None and step.delay_s == 0:
            immediate.append(timer)
    if policy.reminder_s is not None:
        number = timers.last_reminder(conn=conn, alarm_id=alarm.id) + 1
        timers.add(
            conn=conn,
            alarm_id=alarm.id,
            policy_id=policy.id,
            tier=1,
            audiences=(),
            due_at=since + timedelta(seconds=policy.reminder_s * number),
            reminder=number,
            repeat_s=policy.reminder_s,
        )
    return sum(fire(conn=conn, timer=t, routing=routing) for t in immediate)


def fire(*, conn: Conn, timer: timers.Timer, routing: Routing) -> int:
    """Carry out one due step: enqueue its notifications, record the event, plan the next
    reminder. A reminder goes to everyone reached by the tiers due before it. Returns the
    number of notifications enqueued."""
    audiences = timer.audiences
    if timer.reminder:
        audiences = tuple(
            timers.audiences_before(conn=conn, alarm_id=timer.alarm_id, due_at=timer.due_at)
        )
    first = (
        timer.reminder == 0 and timers.highest_fired_tier(conn=conn, alarm_id=timer.alarm_id) == 0
    )
    count = outbox.enqueue_for_alarm(
        conn=conn,
        alarm_id=timer.alarm_id,
        tier=timer.tier,
        operator_channels=routing.operator_channels,
        audiences=audiences,
        links=routing.links,
        reminder=timer.reminder,
        first=first,
    )
    fired_at = timers.mark_fired(conn=conn, timer_id=timer.id, audiences=audiences)
    if not first:
        record_event(
            conn=conn,
            alarm_id=timer.alarm_id,
            actor=ACTOR,
            action="reminded" if timer.reminder else "escalated",
            detail={
                "tier": timer.tier,
                "reminder": timer.reminder,
                "audiences": list(audiences),
                "notifications": count,
                "due_at": timer.due_at.isoformat(),
                "lag_ms": round((fired_at - timer.due_at).total_seconds() * 1000, 1),
            },
        )
        if count == 0:
            logger.info("alarm %d: nobody reachable among %s", timer.alarm_id, audiences)
    if timer.repeat_s is not None:
        timers.add(
            conn=conn,
            alarm_id=timer.alarm_id,
            policy_id=timer.policy_id,
            tier=timer.tier,
            audiences=(),
            due_at=max(timer.due_at + timedelta(seconds=timer.repeat_s), fired_at),
            reminder=timer.reminder + 1,
            repeat_s=timer.repeat_s,
        )
    return count


def on_repeat(*, conn: Conn, result: RaiseResult, routing: Routing) -> int:
    """An active alarm was raised again: if its severity rose to one with another policy,
    re-plan the tiers still to come. Returns the notifications enqueued now."""
    if not result.severity_raised:
        return 0
    alarm = _alarm(conn, result.alarm_id)
    policy = policy_for(conn=conn, site_id=alarm.site_id, kind=alarm.kind, severity=alarm.severity)
    planned = conn.execute(
        "SELECT policy_id FROM escalation_timers WHERE alarm_id = %s ORDER BY id DESC LIMIT 1",
        (alarm.id,),
    ).fetchone()
    if planned is None or planned[0] == policy.id:
        return 0
    row = conn.execute(
        "SELECT state::text, silenced FROM alarms WHERE id = %s", (alarm.id,)
    ).fetchone()
    if row is None or row[0] != "open" or row[1]:
        return 0
    timers.cancel_pending(conn=conn, alarm_id=alarm.id)
    reached = timers.highest_fired_tier(conn=conn, alarm_id=alarm.id)
    return _plan(conn, alarm, policy, since=alarm.raised_at, after_tier=reached, routing=routing)


def resume_after_silences(*, conn: Conn, routing: Routing, limit: int = 50) -> int:
    """Open alarms whose silence is over (expired or ended early): if no other silence covers
    them, their escalation starts now (a condition that outlasts a sensor test must reach a
    person). Runs in the scheduler; returns how many alarms were resumed."""
    rows = conn.execute(
        """SELECT a.id, a.silence_id FROM alarms a JOIN silences s ON s.id = a.silence_id
           WHERE a.silenced AND a.state = 'open'
             AND (s.ends_at <= now() OR s.ended_at IS NOT NULL)
           ORDER BY a.id LIMIT %s
           FOR UPDATE OF a SKIP LOCKED""",
        (limit,),
    ).fetchall()
    resumed = 0
    for alarm_id, ended in rows:
        other = silence_for_alarm(conn=conn, alarm_id=alarm_id)
        if other is not None:
            conn.execute("UPDATE alarms SET silence_id = %s WHERE id = %s", (other.id, alarm_id))
            continue
        row = conn.execute(
            """UPDATE alarms SET silenced = false, silence_id = NULL WHERE id = %s
               RETURNING clock_timestamp()""",
            (alarm_id,),
        ).fetchone()
        assert row is not None
        record_event(
            conn=conn,
            alarm_id=alarm_id,
            actor=ACTOR,
            action="unsilenced",
            detail={"silence_id": ended, "reason": "the silence is over; the alarm is still open"},
        )
        alarm = _alarm(conn, alarm_id)
        policy = policy_for(
            conn=conn, site_id=alarm.site_id, kind=alarm.kind, severity=alarm.severity
        )
        _plan(conn, alarm, policy, since=row[0], after_tier=0, routing=routing)
        resumed += 1
    return resumed
