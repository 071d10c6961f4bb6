"""Watching TimescaleDB's policy jobs: ``anxin db status`` lists them, the gauge counts failures.

There is no TimescaleDB here, so the test database gets a stand-in ``timescaledb_information``
schema: tables with the columns of TimescaleDB's views (docs: informational-views jobs,
job_stats, job_errors), holding a compression job failing as every job does on PostgreSQL 15.20.
The real query runs unchanged against it.
"""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from alerts.storage_health import check_storage_jobs
from anxin.cli import app as cli_app
from anxin.storage import installed_version
from anxin.storage_jobs import read_jobs

PORTAL_ERROR = 'cannot drop portal "" while it is being set up'


@pytest.fixture
def standin_jobs(conn):
    if installed_version(conn):
        pytest.skip("this database has TimescaleDB's own views; the stand-in would clash")
    conn.execute(
        """CREATE SCHEMA timescaledb_information;
        CREATE TABLE timescaledb_information.jobs (
            job_id int, application_name text, proc_schema text, proc_name text,
            hypertable_schema text, hypertable_name text, config jsonb);
        CREATE TABLE timescaledb_information.job_stats (
            hypertable_schema text, hypertable_name text, job_id int,
            last_run_started_at timestamptz, last_successful_finish timestamptz,
            last_run_status text, job_status text, last_run_duration interval,
            next_start timestamptz, total_runs bigint, total_successes bigint,
            total_failures bigint);
        CREATE TABLE timescaledb_information.job_errors (
            job_id int, proc_schema text, proc_name text, pid int, start_time timestamptz,
            finish_time timestamptz, sqlerrcode text, err_message text);
        INSERT INTO timescaledb_information.jobs VALUES
            (1, 'Telemetry Reporter [1]', '_timescaledb_functions', 'policy_telemetry',
             NULL, NULL, NULL),
            (1000, 'Columnstore Policy [1000]', '_timescaledb_functions', 'policy_compression',
             'public', 'reading_vitals', '{}'),
            (1001, 'Retention Policy [1001]', '_timescaledb_functions', 'policy_retention',
             'public', 'reading_env', '{}');
        INSERT INTO timescaledb_information.job_stats VALUES
            (NULL, NULL, 1, now(), NULL, 'Failed', 'Scheduled', '1 s', now(), 9, 0, 9),
            ('public', 'reading_vitals', 1000, now() - interval '1 hour',
             now() - interval '3 days', 'Failed', 'Scheduled', '1 s', now(), 10, 6, 4),
            ('public', 'reading_env', 1001, now() - interval '2 hours', now() - interval '2 hours',
             'Success', 'Scheduled', '1 s', now(), 3, 3, 0);
        INSERT INTO timescaledb_information.job_errors VALUES
            (1000, '_timescaledb_functions', 'policy_compression', 11, now() - interval '4 days',
             now() - interval '4 days', 'XX000', 'an old failure, before the last success'),
            (1000, '_timescaledb_functions', 'policy_compression', 12, now() - interval '2 days',
             now() - interval '2 days', 'XX000', 'cannot drop portal "" while it is being set up'),
            (1000, '_timescaledb_functions', 'policy_compression', 13, now() - interval '1 hour',
             now() - interval '1 hour', 'XX000', 'cannot drop portal "" while it is being set up')
        """
    )
    yield
    conn.execute("DROP SCHEMA timescaledb_information CASCADE")


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
    failing = check_storage_jobs(conn=conn)
    assert [job.job_id for job in failing] == [1000]
    assert REGISTRY.get_sample_value("anxin_storage_jobs_failing") == 1
    conn.execute("UPDATE timescaledb_information.job_stats SET last_run_status = 'Success'")
    assert check_storage_jobs(conn=conn) == []
    assert REGISTRY.get_sample_value("anxin_storage_jobs_failing") == 0


def test_db_status_lists_the_jobs(db_url, conn, standin_jobs, monkeypatch):
    monkeypatch.setenv("ANXIN_DATABASE_URL", db_url)
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(cli_app, ["db", "status"])
    assert result.exit_code == 0, result.output
    assert "TimescaleDB jobs" in result.output
    assert "compression on reading_vitals" in result.output
    assert "Failed" in result.output and "cannot drop portal" in result.output
