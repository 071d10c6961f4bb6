"""The schema on both storage paths: plain PostgreSQL here, TimescaleDB where it is installed."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from anxin.db import detect_backend
from anxin.maintenance import apply_retention
from anxin.migrate import migrate
from tests.helpers import register_bracelet

READING_TABLES = [
    "reading_vitals",
    "reading_env",
    "reading_heartbeat",
    "device_event",
    "impact_window",
]


def test_migrate_is_idempotent(db_url):
    report = migrate(db_url)
    assert report.applied == []


def test_hourly_aggregates_and_retention_work_on_this_server(db_url, conn):
    _, dev = register_bracelet(db_url)
    device_id = conn.execute("SELECT id FROM devices WHERE uid = %s", (dev,)).fetchone()[0]
    conn.execute(
        """INSERT INTO reading_vitals (ts, device_id, seq, hr, spo2) VALUES
           (date_trunc('hour', now()) + interval '5 min', %(d)s, 1, 60, 95),
           (date_trunc('hour', now()) + interval '10 min', %(d)s, 2, 80, 97),
           (now() - interval '500 days', %(d)s, 3, 70, 96)""",
        {"d": device_id},
    )
    backend = detect_backend(conn)
    if backend.is_timescale:
        conn.execute("CALL refresh_continuous_aggregate('vitals_hourly', NULL, NULL)")
    row = conn.execute(
        """SELECT hr_min, hr_max, readings FROM vitals_hourly
           WHERE device_id = %s AND bucket = date_trunc('hour', now())""",
        (device_id,),
    ).fetchone()
    assert row == (60, 80, 2)
    if not backend.is_timescale:
        deleted = apply_retention(conn=conn)
        assert deleted["reading_vitals"] == 1
        assert conn.execute("SELECT count(*) FROM reading_vitals").fetchone()[0] == 2


def test_device_presence_has_retention_on_either_path(db_url, conn):
    _, dev = register_bracelet(db_url)
    device_id = conn.execute("SELECT id FROM devices WHERE uid = %s", (dev,)).fetchone()[0]
    conn.execute(
        """INSERT INTO device_presence (ts, device_id, state) VALUES
           (now() - interval '91 days', %(d)s, 'offline'), (now(), %(d)s, 'online')""",
        {"d": device_id},
    )
    keep = conn.execute(
        "SELECT keep FROM retention_policy WHERE table_name = 'device_presence'"
    ).fetchone()
    assert keep == (timedelta(days=90),)
    if detect_backend(conn).is_timescale:
        policies = conn.execute(
            """SELECT count(*) FROM timescaledb_information.jobs
               WHERE proc_name = 'policy_retention' AND hypertable_name = 'device_presence'"""
        ).fetchone()
        assert policies == (1,)
    else:
        assert apply_retention(conn=conn)["device_presence"] == 1
        assert conn.execute("SELECT count(*) FROM device_presence").fetchone() == (1,)


def test_the_unique_key_absorbs_a_repeated_reading(db_url, conn):
    _, dev = register_bracelet(db_url)
    device_id = conn.execute("SELECT id FROM devices WHERE uid = %s", (dev,)).fetchone()[0]
    for _ in range(2):
        conn.execute(
            """INSERT INTO reading_vitals (ts, device_id, seq, hr)
               VALUES ('2026-11-23 10:00+00', %s, 7, 70) ON CONFLICT DO NOTHING""",
            (device_id,),
        )
    assert conn.execute("SELECT count(*) FROM reading_vitals").fetchone()[0] == 1


def _timescale(conn: psycopg.Connection) -> bool:
    return detect_backend(conn).is_timescale


@pytest.mark.timescale
def test_timescale_objects_exist(conn):
    if not _timescale(conn):
        pytest.skip(
            "TimescaleDB extension is not installed on this PostgreSQL server "
            "(set ANXIN_TEST_DATABASE_URL to a TimescaleDB server to run this)"
        )
    hypertables = {
        r[0]
        for r in conn.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables"
        ).fetchall()
    }
    assert set(READING_TABLES) <= hypertables
    jobs = conn.execute(
        "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs"
    ).fetchall()
    procs = {(p, h) for p, h in jobs}
    for table in READING_TABLES:
        assert ("policy_compression", table) in procs
        assert ("policy_retention", table) in procs
    caggs = {
        r[0]
        for r in conn.execute(
            "SELECT view_name FROM timescaledb_information.continuous_aggregates"
        ).fetchall()
    }
    assert {"vitals_hourly", "env_hourly"} <= caggs


def test_plain_path_when_timescale_is_absent(conn):
    if _timescale(conn):
        pytest.skip("this server has TimescaleDB; the plain path is tested where it is absent")
    kinds = dict(
        conn.execute(
            """SELECT c.relname, c.relkind::text FROM pg_class c
           WHERE c.relname = ANY(%s)""",
            (["vitals_hourly", "env_hourly", *READING_TABLES],),
        ).fetchall()
    )
    assert kinds["vitals_hourly"] == "v" and kinds["env_hourly"] == "v"
    assert all(kinds[t] == "r" for t in READING_TABLES)
    brin = conn.execute(
        "SELECT count(*) FROM pg_indexes WHERE indexdef LIKE '%USING brin%'"
    ).fetchone()[0]
    assert brin == len(READING_TABLES)
