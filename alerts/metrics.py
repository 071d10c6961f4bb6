"""Prometheus metrics of the detection worker.

What detection skips is counted by the same reasons ingest dead-letters with, so the two series
can be compared: a reason that grows here and not in ``anxin_ingest_dead_letters_total`` means
the services judge the wire differently.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

MESSAGES = Counter("anxin_alerts_messages_received_total", "MQTT messages taken in by detection")
SKIPPED = Counter(
    "anxin_alerts_skipped_total",
    "Messages, or a batch's readings, detection did not act on (one per dead letter of ingest)",
    ["reason"],
)
REGISTRY_LOADS = Counter("anxin_alerts_registry_loads_total", "Reads of the device registry")
FALL_PROMPTS = Counter(
    "anxin_alerts_fall_prompts_total",
    "Possible falls: 'asked', then how each ended (cancelled, help, no_answer, device_offline, "
    "downlink_failed, lying_still, clear_fall); 'unmatched_answer' for an answer to no open "
    "prompt",
    ["event"],
)
STORAGE_JOBS_FAILING = Gauge(
    "anxin_storage_jobs_failing",
    "TimescaleDB policy jobs (compression, retention, aggregate refresh) whose last run failed",
)
