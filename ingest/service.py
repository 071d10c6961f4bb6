"""The ingest worker: a batch consumer whose handler stores readings idempotently.

Each batch is decoded against the device index, stored (COPY, then INSERT … ON CONFLICT DO
NOTHING) with its dead letters in one transaction and committed; the consumer acknowledges it
afterwards (``anxin/consumer.py``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from anxin import wire
from anxin.consumer import BatchConsumer, ConsumerConfig, Message
from anxin.db import connect
from anxin.device_index import DeviceIndex
from anxin.settings import Settings
from anxin.wire_checks import Reason, WireChecks
from ingest import metrics
from ingest.decode import Decoder
from ingest.models import DeadLetter, Staged
from ingest.store import StoreResult, prepare_session, store

logger = logging.getLogger(__name__)

SUBSCRIPTION = f"{wire.TOPIC_ROOT}/+/+/+"
DEFAULT_SHARE_GROUP = "ingest"
_REFUSED = (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError)


@dataclass
class Totals:
    """Running totals, for logs and tests; Prometheus has the same figures."""

    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    batches: int = 0


class IngestHandler:
    """Stores one batch per call; the unique keys make a redelivered batch harmless."""

    def __init__(self, settings: Settings) -> None:
        self._url = settings.database_url
        self.devices = DeviceIndex(refresh_s=settings.ingest_device_refresh_s)
        self._decoder = Decoder(
            WireChecks.from_settings(self.devices, settings),
            now_ms=lambda: time.time_ns() // 1_000_000,
        )
        self._conn: psycopg.Connection[Any] | None = None
        self.totals = Totals()

    def open(self) -> None:
        conn = connect(self._url)
        prepare_session(conn=conn)
        self.devices.load(conn=conn)
        conn.commit()
        self._conn = conn

    def reset(self) -> None:
        metrics.DB_ERRORS.inc()
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
        self._conn = None

    def close(self) -> None:
        self.reset()

    def handle(self, batch: list[Message]) -> None:
        started = time.perf_counter()
        if self._conn is None:
            self.open()
        conn = self._conn
        assert conn is not None
        self.devices.refresh(batch, conn=conn)
        staged = self._decoder.decode(batch)
        try:
            result = store(conn=conn, rows=staged.rows, dead=staged.dead)
            conn.commit()
        except _REFUSED as exc:
            conn.rollback()
            logger.error("batch refused by the database (%s); storing message by message", exc)
            result = self._store_one_by_one(conn, batch)
        self._count(batch, result, staged, started)

    def _store_one_by_one(self, conn: psycopg.Connection[Any], batch: list[Message]) -> StoreResult:
        """Isolate the message the database refuses, dead-letter it, keep the rest."""
        total = StoreResult()
        for message in batch:
            staged = self._decoder.decode([message])
            try:
                with conn.transaction():
                    result = store(conn=conn, rows=staged.rows, dead=staged.dead)
            except _REFUSED as exc:
                dead = DeadLetter(
                    message.topic, None, Reason.STORAGE_REJECTED, str(exc), message.payload
                )
                result = store(conn=conn, rows={}, dead=[dead])
                metrics.DEAD.labels(reason=Reason.STORAGE_REJECTED.value).inc()
            for table, count in result.inserted.items():
                total.inserted[table] = total.inserted.get(table, 0) + count
            total.duplicates += result.duplicates
            total.dead_letters += result.dead_letters
        conn.commit()
        return total

    def _count(
        self, batch: list[Message], result: StoreResult, staged: Staged, started: float
    ) -> None:
        metrics.MESSAGES.inc(len(batch))
        for table, count in result.inserted.items():
            metrics.STORED.labels(table=table).inc(count)
        metrics.DUPLICATES.inc(result.duplicates)
        for dead in staged.dead:
            metrics.DEAD.labels(reason=dead.reason.value).inc()
            logger.info("dead letter %s on %s: %s", dead.reason.value, dead.topic, dead.detail)
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        metrics.AGE_SECONDS.observe((time.monotonic_ns() - batch[0].received_ns) / 1e9)
        self.totals.messages += len(batch)
        self.totals.stored += result.stored
        self.totals.duplicates += result.duplicates
        self.totals.dead_letters += result.dead_letters
        self.totals.batches += 1


class IngestService:
    """One ingest worker; several share the load through an MQTT v5 shared subscription."""

    def __init__(self, settings: Settings) -> None:
        group = settings.ingest_share_group
        self.handler = IngestHandler(settings)
        self.config = ConsumerConfig(
            name="ingest",
            client_id=settings.ingest_client_id,
            subscription=f"$share/{group}/{SUBSCRIPTION}" if group else SUBSCRIPTION,
            stale_subscriptions=(
                (SUBSCRIPTION,) if group else (f"$share/{DEFAULT_SHARE_GROUP}/{SUBSCRIPTION}",)
            ),
            batch_rows=settings.ingest_batch_rows,
            batch_wait_ms=settings.ingest_batch_wait_ms,
            receive_maximum=settings.ingest_receive_maximum,
        )
        self._consumer = BatchConsumer(settings.mqtt, self.config, self.handler)

    @property
    def totals(self) -> Totals:
        return self.handler.totals

    def start(self) -> None:
        self._consumer.start()

    def stop(self) -> None:
        self._consumer.stop()
        logger.info("ingest stopped: %s", self.totals)

    def wait(self) -> None:
        self._consumer.wait()
