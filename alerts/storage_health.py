"""The alerts worker's watch on TimescaleDB's policy jobs (``anxin.storage_jobs``).

A failing compression or retention job does not stop ingest, so nothing else would notice until
the disk is full. Every ``ANXIN_STORAGE_JOB_CHECK_S`` the watch counts the failing jobs into the
gauge ``anxin_storage_jobs_failing`` and logs each one with its last error; on the plain path
there are no jobs and the gauge stays 0.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg

from alerts.metrics import STORAGE_JOBS_FAILING
from anxin.storage_jobs import StorageJob, read_jobs

logger = logging.getLogger(__name__)


def check_storage_jobs(*, conn: psycopg.Connection[Any]) -> list[StorageJob]:
    """Set the gauge from the jobs' latest runs; returns the failing jobs."""
    failing = [job for job in read_jobs(conn=conn) or [] if job.failing]
    STORAGE_JOBS_FAILING.set(len(failing))
    for job in failing:
        logger.warning(
            "TimescaleDB job %s (%s) is failing: %d failed runs since its last success "
            "(%s); last error: %s",
            job.job_id,
            job.label,
            job.failures_since_success,
            job.last_successful_finish or "never",
            job.last_error or "none recorded",
        )
    return failing


def watch_storage_jobs(*, url: str, every_s: float, stop: threading.Event) -> None:
    """Check at start and then every ``every_s`` until ``stop``; a database error is logged and
    the next round tries again."""
    while True:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                check_storage_jobs(conn=conn)
        except psycopg.Error:
            logger.exception("could not read TimescaleDB's job statistics; next check retries")
        if stop.wait(every_s):
            return
