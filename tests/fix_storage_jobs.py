"""Stand-in TimescaleDB job views for the tests of ``anxin.storage_jobs`` and
``alerts.storage_health``.

There is no TimescaleDB here, so the test database gets a stand-in ``timescaledb_information``
schema: tables with the columns of TimescaleDB's views (docs: informational-views jobs,
job_stats, job_errors), holding a compression job failing as every job does on PostgreSQL 15.20
(2 failed runs since its last success, 3 days ago) and a retention job that succeeds. The real
query runs unchanged against it.
"""

from __future__ import annotations

import pytest

from anxin.storage import installed_version

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


def fail_again(conn, job_id: int) -> None:
    """The job runs once more and fails, as it does on PostgreSQL 15.20."""
    conn.execute(
        """INSERT INTO timescaledb_information.job_errors
               (job_id, proc_schema, proc_name, pid, start_time, finish_time, sqlerrcode,
                err_message)
           SELECT job_id, proc_schema, proc_name, 99, now(), now(), 'XX000', %s
           FROM timescaledb_information.jobs WHERE job_id = %s""",
        (PORTAL_ERROR, job_id),
    )
    conn.execute(
        """UPDATE timescaledb_information.job_stats
           SET last_run_started_at = now(), last_run_status = 'Failed',
               total_runs = total_runs + 1, total_failures = total_failures + 1
           WHERE job_id = %s""",
        (job_id,),
    )


def succeed(conn, job_id: int) -> None:
    """The job's next run succeeds (a fixed PostgreSQL release)."""
    conn.execute(
        """UPDATE timescaledb_information.job_stats
           SET last_run_started_at = now(), last_successful_finish = now(),
               last_run_status = 'Success', total_runs = total_runs + 1,
               total_successes = total_successes + 1
           WHERE job_id = %s""",
        (job_id,),
    )
