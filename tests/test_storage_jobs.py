"""Watching TimescaleDB's policy jobs: ``anxin db status`` lists them, the gauge counts failures.

Against the stand-in job views of ``tests/fix_storage_jobs.py`` (``standin_jobs``).
"""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from alerts import escalation
from alerts.storage_health import JobAlarms, check_storage_jobs
from anxin.cli import app as cli_app
from anxin.storage import installed_version
from anxin.storage_jobs import read_jobs
from tests.fix_storage_jobs import PORTAL_ERROR


def test_plain_path_has_no_jobs(conn):
    if installed_version(conn):
        pytest.skip("this database has TimescaleDB")
    assert read_jobs(conn=conn) is None


def test_policy_jobs_with_their_last_run_and_error(conn, standin_jobs):
    jobs = {job.job_id: job for job in read_jobs(conn=conn) or []}
    assert set(jobs) == {1000, 1001}  # TimescaleDB's own telemetry job is not Anxin's concern
    compression = jobs[1000]
    assert compression.failing and compression.label == "compression on reading_vitals"
    assert compression.failures_since_success == 2
    assert compression.last_error == PORTAL_ERROR
    assert not jobs[1001].failing and jobs[1001].failures_since_success == 0


def test_the_gauge_counts_failing_jobs(conn, standin_jobs):
    alarms = JobAlarms(failures_to_alarm=3, operator_site="", routing=escalation.Routing())
    failing = check_storage_jobs(conn=conn, alarms=alarms)
    assert [job.job_id for job in failing] == [1000]
    assert REGISTRY.get_sample_value("anxin_storage_jobs_failing") == 1
    conn.execute("UPDATE timescaledb_information.job_stats SET last_run_status = 'Success'")
    assert check_storage_jobs(conn=conn, alarms=alarms) == []
    assert REGISTRY.get_sample_value("anxin_storage_jobs_failing") == 0


def test_db_status_lists_the_jobs(db_url, conn, standin_jobs, monkeypatch):
    monkeypatch.setenv("ANXIN_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(cli_app, ["db", "status"])
    assert result.exit_code == 0, result.output
    assert "TimescaleDB jobs" in result.output
    assert "compression on reading_vitals" in result.output
    assert "Failed" in result.output and "cannot drop portal" in result.output
