"""How far back TimescaleDB re-materialises the hourly continuous aggregates.

A refresh policy only looks at buckets between ``start_offset`` and ``end_offset`` before now; a
reading stored older than ``start_offset`` never reaches the aggregate. Ingest accepts readings
up to ``ANXIN_INGEST_MAX_CLOCK_SKEW_S`` old (a bracelet uploading its buffer after being offline),
so the window must reach that far, plus the bucket the reading falls in and the policy's schedule
interval. A wide window is cheap: TimescaleDB re-materialises only the ranges that changed.

On plain PostgreSQL the aggregates are views computed when queried, so nothing is late there.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta
from typing import Any

import psycopg

logger = logging.getLogger(__name__)

HOURLY_AGGREGATES = ("vitals_hourly", "env_hourly")
MIN_START_OFFSET = timedelta(days=3)
END_OFFSET = timedelta(hours=1)
SCHEDULE_INTERVAL = timedelta(minutes=15)
BUCKET = timedelta(hours=1)


def refresh_start_offset(late_upload_s: int) -> timedelta:
    """The policy's ``start_offset`` for readings up to ``late_upload_s`` old, in whole hours."""
    reach = timedelta(seconds=late_upload_s) + BUCKET + SCHEDULE_INTERVAL + END_OFFSET
    hours = math.ceil(reach / timedelta(hours=1))
    return max(MIN_START_OFFSET, timedelta(hours=hours))


def align_refresh_window(*, conn: psycopg.Connection[Any], late_upload_s: int) -> list[str]:
    """Re-create each hourly aggregate's refresh policy whose window is not the one the setting
    needs; returns the aggregates changed. TimescaleDB only (needs autocommit: the policy
    functions may not run inside a transaction block on some releases)."""
    wanted = refresh_start_offset(late_upload_s)
    changed = []
    for view in HOURLY_AGGREGATES:
        row = conn.execute(
            """SELECT (j.config->>'start_offset')::interval
               FROM timescaledb_information.jobs j
               JOIN timescaledb_information.continuous_aggregates c
                 ON c.materialization_hypertable_schema = j.hypertable_schema
                AND c.materialization_hypertable_name = j.hypertable_name
               WHERE c.view_name = %s AND j.proc_name = 'policy_refresh_continuous_aggregate'""",
            (view,),
        ).fetchone()
        if row is not None and row[0] == wanted:
            continue
        conn.execute("SELECT remove_continuous_aggregate_policy(%s, if_exists => true)", (view,))
        conn.execute(
            """SELECT add_continuous_aggregate_policy(%s, start_offset => %s,
                   end_offset => %s, schedule_interval => %s)""",
            (view, wanted, END_OFFSET, SCHEDULE_INTERVAL),
        )
        changed.append(view)
    if changed:
        logger.info("hourly aggregates %s now refresh %s back", changed, wanted)
    return changed
