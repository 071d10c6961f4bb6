"""TimescaleDB's background jobs (compression, retention, aggregate refresh), as Anxin watches them.

The jobs fail quietly: on PostgreSQL 15.20 every one of them fails (docs/operations.md), and then
compression and retention stop while the disk fills. ``anxin db status`` lists them, the alerts
worker counts the failing ones in a Prometheus gauge and raises an operator alarm for a job that
keeps failing (``alerts.storage_health``).

Only jobs from id 1000 on are read: those are the policies the migrations added. TimescaleDB's own
jobs (telemetry, the job-error log's retention) have lower ids, and telemetry fails on every
server without internet access, which is no concern of the operator's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

FIRST_POLICY_JOB_ID = 1000

JOBS_QUERY = """
SELECT j.job_id, j.proc_name, coalesce(j.hypertable_name, ''),
       s.last_run_started_at, s.last_successful_finish, s.last_run_status, s.next_start,
       coalesce(s.total_failures, 0),
       (SELECT count(*) FROM timescaledb_information.job_errors e
         WHERE e.job_id = j.job_id
           AND e.finish_time > coalesce(s.last_successful_finish, '-infinity')),
       (SELECT e.err_message FROM timescaledb_information.job_errors e
         WHERE e.job_id = j.job_id ORDER BY e.finish_time DESC LIMIT 1)
FROM timescaledb_information.jobs j
LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
WHERE j.job_id >= %s
ORDER BY j.job_id
"""


@dataclass(frozen=True)
class StorageJob:
    """One policy job and how its runs went."""

    job_id: int
    proc_name: str
    hypertable: str
    last_run_started_at: datetime | None
    last_successful_finish: datetime | None
    last_run_status: str | None
    next_start: datetime | None
    total_failures: int
    failures_since_success: int
    last_error: str | None

    @property
    def failing(self) -> bool:
        """Its latest run failed."""
        return self.last_run_status == "Failed"

    @property
    def label(self) -> str:
        """What the operator recognises: the policy and the table it works on."""
        name = self.proc_name.removeprefix("policy_")
        return f"{name} on {self.hypertable}" if self.hypertable else name


def read_jobs(*, conn: psycopg.Connection[Any]) -> list[StorageJob] | None:
    """The policy jobs of this database; None where TimescaleDB's views do not exist (the plain
    path has no jobs: ``anxin db maintain`` does their work)."""
    views = conn.execute("SELECT to_regclass('timescaledb_information.job_stats')").fetchone()
    if views is None or views[0] is None:
        return None
    rows = conn.execute(JOBS_QUERY, (FIRST_POLICY_JOB_ID,)).fetchall()
    return [
        StorageJob(
            job_id=int(r[0]),
            proc_name=str(r[1]),
            hypertable=str(r[2]),
            last_run_started_at=r[3],
            last_successful_finish=r[4],
            last_run_status=r[5],
            next_start=r[6],
            total_failures=int(r[7]),
            failures_since_success=int(r[8]),
            last_error=r[9],
        )
        for r in rows
    ]
