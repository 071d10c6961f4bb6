"""The alerts worker: readings from MQTT (its own session) → rules and fall model → alarms.

Detection does not wait for storage: the worker subscribes itself, and raises alarms in the
same transaction-then-acknowledge rhythm as ingest, so a crash neither loses a trigger nor
leaves half an alarm. It acts only on readings that pass the wire checks ingest stores by
(``anxin/wire_checks.py``), so no alarm rests on a reading that storage dead-lettered.
Time-based rules (offline devices, CO dose, no recovery after a fall, unanswered fall prompts)
run on a ticker thread; one lock keeps the rule state consistent between the two threads.
Doubtful falls ask the wearer first through the downlink (``alerts/fall_flow.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any, Protocol

import psycopg

from alerts import escalation, metrics
from alerts.context import load_contexts
from alerts.downlink import Downlink
from alerts.fall_flow import FallFlow, FallScorer
from alerts.fall_watch import NoRecoveryWatch
from alerts.models import DeviceContext, Observation, Trigger
from alerts.storage_health import JobAlarms, watch_storage_jobs
from alerts.store import clear_alarm, raise_alarm
from anxin import wire
from anxin.consumer import BatchConsumer, ConsumerConfig, Message
from anxin.db import connect
from anxin.device_index import DeviceIndex
from anxin.settings import Settings
from anxin.wire_checks import Reason, WireChecks

logger = logging.getLogger(__name__)

SUBSCRIPTION = f"{wire.TOPIC_ROOT}/+/+/+"


class Engine(Protocol):
    def register_device(self, ctx: DeviceContext, now_ms: int) -> None: ...
    def observe(self, obs: Observation) -> list[Trigger]: ...
    def tick(self, now_ms: int) -> list[Trigger]: ...


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class AlertsHandler:
    def __init__(self, settings: Settings, engine: Engine, fall: FallScorer | None) -> None:
        self._url = settings.database_url
        self._engine = engine
        self._watch = NoRecoveryWatch()
        self._lock = threading.Lock()
        self.falls = None if fall is None else FallFlow(fall, settings, self._watch, self._lock)
        self._conn: psycopg.Connection[Any] | None = None
        self.devices = DeviceIndex(refresh_s=settings.ingest_device_refresh_s)
        self._checks = WireChecks.from_settings(self.devices, settings)
        self._contexts: dict[str, DeviceContext] = {}
        self.routing = escalation.routing_from(settings)
        self._unstored: list[Trigger] = []
        self.alarms_raised = 0

    def open(self) -> None:
        self._conn = connect(self._url)
        self._load_registry(self._conn)
        if self.falls is not None:
            self.falls.restore(self._conn, {c.device_id: c for c in self._contexts.values()})
            self._conn.commit()

    def reset(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
        self._conn = None

    def close(self) -> None:
        self.reset()

    def handle(self, batch: list[Message]) -> None:
        if self._conn is None:
            self.open()
        conn = self._conn
        assert conn is not None
        metrics.MESSAGES.inc(len(batch))
        if self.devices.refresh(batch, conn=conn):
            self._load_contexts(conn)
        at = now_ms()
        triggers: list[Trigger] = []
        with self._lock:
            for message in batch:
                triggers.extend(self._detect(message, at))
        self._store(conn, triggers)

    def tick(self) -> None:
        """Run the time-based rules; the ticker thread has its own connection."""
        at = now_ms()
        with self._lock:
            if self.falls is not None:
                self.falls.tick(at)
            triggers = self._unstored + self._engine.tick(at) + self._watch.tick(at)
            pending = self.falls is not None and self.falls.has_effects()
        self._unstored = []
        if triggers or pending:
            try:
                with connect(self._url) as conn:
                    self._store(conn, triggers)
            except psycopg.Error:
                self._unstored = triggers  # the rules will not say it again: keep it for retry
                raise

    def _load_registry(self, conn: psycopg.Connection[Any]) -> None:
        self.devices.load(conn=conn)
        self._load_contexts(conn)

    def _load_contexts(self, conn: psycopg.Connection[Any]) -> None:
        """The rules' view of each device, read right after the index so the two agree."""
        metrics.REGISTRY_LOADS.inc()
        contexts = load_contexts(conn=conn)
        conn.commit()
        at = now_ms()
        with self._lock:
            for uid, ctx in contexts.items():
                if self._contexts.get(uid) != ctx:
                    self._engine.register_device(ctx, at)
            self._contexts = contexts

    def _detect(self, message: Message, at: int) -> list[Trigger]:
        verdict = self._checks.judge(message, at)
        for rejection in verdict.rejections:
            metrics.SKIPPED.labels(reason=rejection.reason.value).inc()
        if verdict.status is not None and verdict.device is not None and self.falls is not None:
            self.falls.presence(verdict.device.id, verdict.status, at)
        if not verdict.readings:
            return []
        ctx = self._contexts.get(verdict.device_uid or "")
        if ctx is None:
            # registered or activated between the index's read and the contexts' read
            metrics.SKIPPED.labels(reason=Reason.UNKNOWN_DEVICE.value).inc()
            return []
        triggers: list[Trigger] = []
        for reading in verdict.readings:
            obs = Observation(device=ctx, reading=reading, received_ms=at)
            self._watch.observe(obs)
            triggers.extend(self._engine.observe(obs))
            if self.falls is None:
                continue
            if isinstance(reading, wire.Impact):
                triggers.extend(self.falls.impact(ctx, reading, at))
            elif isinstance(reading, wire.Event) and reading.event in wire.FALL_ANSWERS:
                self.falls.answer(ctx, reading)
        return triggers

    def _store(self, conn: psycopg.Connection[Any], triggers: Iterable[Trigger]) -> None:
        """Write the fall flow's effects and the triggers in one transaction; send the fall
        prompts only once it committed, so that every answer finds its record."""
        with self._lock:
            effects = [] if self.falls is None else self.falls.take()
        try:
            to_send = [] if self.falls is None else self.falls.write(conn, effects, self._raise)
            for trigger in triggers:
                if trigger.clear:
                    clear_alarm(conn=conn, trigger=trigger)
                else:
                    self._raise(conn, trigger)
            conn.commit()
        except psycopg.Error:
            if self.falls is not None:
                with self._lock:
                    self.falls.put_back(effects)
            raise
        if self.falls is not None and to_send:
            self.falls.send(to_send, now_ms())

    def _raise(self, conn: psycopg.Connection[Any], trigger: Trigger) -> int:
        result = raise_alarm(conn=conn, trigger=trigger)
        if result.created:
            # in the alarm's own transaction: no alarm without a delivery record
            escalation.start(conn=conn, alarm_id=result.alarm_id, routing=self.routing)
            self.alarms_raised += 1
            logger.warning(
                "alarm %d %s (%s) at %s: %s",
                result.alarm_id,
                trigger.kind.value,
                trigger.severity.name,
                trigger.site_uid,
                trigger.title,
            )
        else:
            escalation.on_repeat(conn=conn, result=result, routing=self.routing)
        return result.alarm_id


class AlertsService:
    """The consumer plus the ticker thread for time-based rules."""

    def __init__(self, settings: Settings, engine: Engine, fall: FallScorer | None) -> None:
        self.handler = AlertsHandler(settings, engine, fall)
        config = ConsumerConfig(
            name="alerts",
            client_id=settings.alerts_client_id,
            subscription=SUBSCRIPTION,
            batch_rows=1000,
            batch_wait_ms=settings.alerts_batch_wait_ms,
            receive_maximum=settings.ingest_receive_maximum,
        )
        self._consumer = BatchConsumer(settings.mqtt, config, self.handler)
        self._downlink = Downlink(settings.mqtt, f"{settings.alerts_client_id}-cmd")
        self._tick_s = settings.alerts_tick_s
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="alerts-tick", daemon=True)
        self._storage_watch = threading.Thread(
            target=watch_storage_jobs,
            kwargs={
                "url": settings.database_url,
                "every_s": settings.storage_job_check_s,
                "alarms": JobAlarms(
                    failures_to_alarm=settings.storage_job_failures_alarm,
                    operator_site=settings.operator_site,
                    routing=self.handler.routing,
                ),
                "stop": self._stop,
            },
            name="alerts-storage-jobs",
            daemon=True,
        )

    def start(self) -> None:
        """The downlink first: the first doubtful fall may come with the first batch."""
        self._downlink.start()
        if self.handler.falls is not None:
            self.handler.falls.downlink = self._downlink
        try:
            self._consumer.start()
        except BaseException:
            self._downlink.stop()
            raise
        self._ticker.start()
        self._storage_watch.start()

    def stop(self) -> None:
        self._stop.set()
        self._ticker.join(timeout=5)
        self._storage_watch.join(timeout=5)
        self._consumer.stop()
        self._downlink.stop()

    def wait(self) -> None:
        self._consumer.wait()

    def _tick_loop(self) -> None:
        while not self._stop.wait(self._tick_s):
            try:
                self.handler.tick()
            except psycopg.Error:
                logger.exception("time-based rules could not store their alarms; next tick retries")
