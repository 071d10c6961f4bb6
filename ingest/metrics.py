"""Prometheus metrics of the ingest service, counted per batch (not per message) to stay cheap."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter("anxin_ingest_messages_received_total", "MQTT messages taken in")
STORED = Counter("anxin_ingest_readings_stored_total", "Rows committed", ["table"])
DUPLICATES = Counter("anxin_ingest_duplicates_total", "Readings already stored (absorbed)")
DEAD = Counter("anxin_ingest_dead_letters_total", "Dead-letter rows written", ["reason"])
DB_ERRORS = Counter("anxin_ingest_db_errors_total", "Failed write attempts (retried)")
BATCH_SECONDS = Histogram(
    "anxin_ingest_batch_seconds",
    "Time to decode, store and commit one batch",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
AGE_SECONDS = Histogram(
    "anxin_ingest_receive_to_commit_seconds",
    "Oldest message of a batch: time from receipt to commit",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PENDING = Gauge("anxin_ingest_pending_messages", "Received, not yet committed and acknowledged")
