"""The escalation scheduler: fires due escalation timers (``alerts.escalation``).

Runs inside ``anxin deliver`` (one per delivery worker process; any number is safe: timers are
claimed with ``FOR UPDATE SKIP LOCKED``). Each round starts the escalation of open alarms whose
silence is over (``resume_after_silences``), then claims the due timers, fires each one in a
savepoint (a broken timer is cancelled, logged and written to the alarm's audit trail instead
of blocking the others) and commits. Between rounds it sleeps until the next timer is due, but
at most ``poll_s`` (so a timer planned meanwhile by another process is seen in time): timers
fire within ``poll_s`` of their schedule, and usually within milliseconds.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import psycopg

from alerts import timers
from alerts.escalation import ACTOR, Routing, fire, resume_after_silences
from alerts.store import record_event
from anxin.db import WorkerConnection

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchedulerConfig:
    database_url: str
    routing: Routing
    poll_s: float = 0.25
    batch: int = 50

    def __post_init__(self) -> None:
        if not 0 < self.poll_s <= 1:
            raise ValueError("poll_s must be in (0, 1]: timers must fire within 1 s of schedule")


class EscalationScheduler:
    def __init__(self, config: SchedulerConfig) -> None:
        self.config = config
        self._db = WorkerConnection(config.database_url)

    def close(self) -> None:
        self._db.close()

    def run_once(self) -> int:
        """Fire the timers due now (one batch); returns how many were claimed."""
        conn = self._db.get()
        resume_after_silences(conn=conn, routing=self.config.routing)
        due = timers.claim_due(conn=conn, limit=self.config.batch)
        for item in due:
            if item.alarm_state != "open" or item.silenced:
                timers.cancel(conn=conn, timer_id=item.timer.id)
                continue
            try:
                with conn.transaction():
                    fire(conn=conn, timer=item.timer, routing=self.config.routing)
            except Exception as exc:  # one broken timer must not stop the others
                logger.exception(
                    "escalation of alarm %d tier %d failed; timer cancelled",
                    item.timer.alarm_id,
                    item.timer.tier,
                )
                timers.cancel(conn=conn, timer_id=item.timer.id)
                record_event(
                    conn=conn,
                    alarm_id=item.timer.alarm_id,
                    actor=ACTOR,
                    action="escalated",
                    detail={"tier": item.timer.tier, "error": f"{type(exc).__name__}: {exc}"},
                )
        conn.commit()
        return len(due)

    def _idle_s(self) -> float:
        conn = self._db.get()
        until_next = timers.seconds_to_next_due(conn=conn)
        conn.commit()
        if until_next is None:
            return self.config.poll_s
        # overdue yet unclaimed: another scheduler holds it; look again shortly
        return min(self.config.poll_s, max(0.01, until_next))

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; a database outage is logged and retried, not fatal."""
        while not stop.is_set():
            try:
                if self.run_once() >= self.config.batch:
                    continue
                wait_s = self._idle_s()
            except psycopg.Error:
                logger.exception("escalation scheduler: database error; retrying")
                self.close()
                wait_s = self.config.poll_s
            stop.wait(wait_s)
        self.close()
