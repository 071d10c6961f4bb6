"""The alerts worker's watch on TimescaleDB's policy jobs (``anxin.storage_jobs``).

A failing compression or retention job does not stop ingest, so nothing else would notice until
the disk is full. Every ``ANXIN_STORAGE_JOB_CHECK_S`` the watch counts the failing jobs into the
gauge ``anxin_storage_jobs_failing`` and logs each one with its last error; on the plain path
there are no jobs and the gauge stays 0.

A job whose last ``ANXIN_STORAGE_JOB_FAILURES_ALARM`` runs failed (counted since its last
success) raises a ``storage_job_failing`` alarm (severity ALARM, subject ``('storage_job',
job_id)``) for the operator and the site's managers through the normal escalation (default
policy: docs/alarms.md). Each further failed run repeats it; the first successful run clears
it, and it stays on record. An alarm needs a site, and a job belongs to none: the alarm goes to
the site that holds platform-wide operator alarms (``operator_site``); with no site registered
yet there is nobody to tell but the log.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from alerts import escalation
from alerts.metrics import STORAGE_JOBS_FAILING
from alerts.models import AlarmKind, Severity, Subject, Trigger
from alerts.store import active_last_seen, clear_alarm, raise_alarm
from anxin.storage_jobs import StorageJob, read_jobs

logger = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]

ACTOR = "storage_watch"


@dataclass(frozen=True)
class JobAlarms:
    """When a failing job becomes an alarm, on which site, and how it is escalated.
    ``operator_site`` is a site uid; empty means the oldest site."""

    failures_to_alarm: int
    operator_site: str
    routing: escalation.Routing


def operator_site(*, conn: Conn, uid: str) -> str | None:
    """The site that holds platform-wide operator alarms: the one named ``uid``, else (unset or
    not registered) the oldest site, which in a deployment is the operating organisation's
    own; None when no site is registered."""
    if uid:
        if conn.execute("SELECT 1 FROM sites WHERE uid = %s", (uid,)).fetchone() is not None:
            return uid
        logger.warning("ANXIN_OPERATOR_SITE=%s is not a registered site; using the oldest", uid)
    row = conn.execute("SELECT uid FROM sites ORDER BY id LIMIT 1").fetchone()
    return None if row is None else str(row[0])


def _ms(at: datetime | None) -> int:
    return int((at or datetime.now(UTC)).timestamp() * 1000)


def _trigger(job: StorageJob, site_uid: str) -> Trigger:
    since = job.last_successful_finish
    when = (
        f"since {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if since else "and has never succeeded"
    )
    return Trigger(
        kind=AlarmKind.STORAGE_JOB_FAILING,
        severity=Severity.ALARM,
        subject=Subject("storage_job", job.job_id),
        site_uid=site_uid,
        title=f"Storage job {job.job_id} ({job.label}) failing {when}: "
        f"{job.failures_since_success} failed runs",
        evidence={
            "rule": "storage_job_failing",
            "job_id": job.job_id,
            "proc_name": job.proc_name,
            "hypertable": job.hypertable,
            "failures": job.failures_since_success,
            "total_failures": job.total_failures,
            "last_error": job.last_error,
            "last_run": job.last_run_started_at.isoformat() if job.last_run_started_at else None,
            "last_success": since.isoformat() if since else None,
        },
        at_ms=_ms(job.last_run_started_at),
    )


def _raise(conn: Conn, job: StorageJob, alarms: JobAlarms) -> None:
    """Raise the job's alarm, or repeat it for a failed run it has not counted yet."""
    site_uid = operator_site(conn=conn, uid=alarms.operator_site)
    if site_uid is None:
        logger.warning(
            "TimescaleDB job %s keeps failing but no site is registered to hold its operator alarm",
            job.job_id,
        )
        return
    trigger = _trigger(job, site_uid)
    seen = active_last_seen(conn=conn, kind=trigger.kind, subject=trigger.subject)
    if seen is not None and _ms(seen) >= trigger.at_ms:
        return  # this run is already counted: the next check is not a new failure
    result = raise_alarm(conn=conn, trigger=trigger, actor=ACTOR)
    if result.created:
        escalation.start(conn=conn, alarm_id=result.alarm_id, routing=alarms.routing)
        logger.warning("alarm %d: %s", result.alarm_id, trigger.title)


def _clear(conn: Conn, job: StorageJob) -> None:
    clear_alarm(
        conn=conn,
        trigger=Trigger(
            kind=AlarmKind.STORAGE_JOB_FAILING,
            severity=Severity.ALARM,
            subject=Subject("storage_job", job.job_id),
            site_uid="",
            title="",
            evidence={"job_id": job.job_id, "last_run_status": job.last_run_status},
            at_ms=_ms(job.last_successful_finish),
            clear=True,
        ),
        actor=ACTOR,
    )


def check_storage_jobs(*, conn: Conn, alarms: JobAlarms) -> list[StorageJob]:
    """Set the gauge from the jobs' latest runs, raise or clear their alarms (each job in its
    own transaction: an alarm commits with its first notifications); returns the failing
    jobs."""
    jobs = read_jobs(conn=conn) or []
    failing = [job for job in jobs if job.failing]
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
    for job in jobs:
        with conn.transaction():
            if job.failing and job.failures_since_success >= alarms.failures_to_alarm:
                _raise(conn, job, alarms)
            elif job.last_run_status == "Success":
                _clear(conn, job)
    return failing


def watch_storage_jobs(
    *, url: str, every_s: float, alarms: JobAlarms, stop: threading.Event
) -> None:
    """Check at start and then every ``every_s`` until ``stop``; a database error is logged and
    the next round tries again."""
    while True:
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
                check_storage_jobs(conn=conn, alarms=alarms)
        except psycopg.Error:
            logger.exception("could not read TimescaleDB's job statistics; next check retries")
        if stop.wait(every_s):
            return
