"""Hourly per-device aggregates of vitals and environment readings.

TimescaleDB: continuous aggregates refreshed by a policy (its window is widened at every migrate to
the late uploads ingest accepts: ``anxin.aggregate_window``) (they cannot be created inside a
transaction, hence ``__transactional__ = False``). Plain PostgreSQL: views with the same name and
columns over ``date_bin``, computed when queried, so dashboards work on either.
"""

from yoyo import step

from anxin.storage import uses_timescale

__depends__ = {"20261123_02_readings"}
__transactional__ = False

AGGREGATES = {
    "vitals_hourly": (
        "reading_vitals",
        """avg(hr)::real AS hr_avg, min(hr) AS hr_min, max(hr) AS hr_max,
           avg(spo2)::real AS spo2_avg, min(spo2) AS spo2_min,
           max(motion_g) AS motion_max, min(battery) AS battery_min, count(*) AS readings""",
    ),
    "env_hourly": (
        "reading_env",
        """max(smoke_obs) AS smoke_max, max(temp_c) AS temp_max, min(temp_c) AS temp_min,
           max(lel_pct) AS lel_max, max(co_ppm) AS co_max, avg(co_ppm)::real AS co_avg,
           count(*) AS readings""",
    ),
}


def apply_step(conn) -> None:  # type: ignore[no-untyped-def]
    cur = conn.cursor()
    if uses_timescale(conn):
        for view, (table, columns) in AGGREGATES.items():
            cur.execute(
                f"""CREATE MATERIALIZED VIEW {view} WITH (timescaledb.continuous) AS
                    SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket, device_id, {columns}
                    FROM {table} GROUP BY 1, 2 WITH NO DATA"""
            )
            cur.execute(
                f"""SELECT add_continuous_aggregate_policy('{view}',
                    start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',
                    schedule_interval => INTERVAL '15 minutes')"""
            )
    else:
        for view, (table, columns) in AGGREGATES.items():
            cur.execute(
                f"""CREATE VIEW {view} AS
                    SELECT date_bin(INTERVAL '1 hour', ts, TIMESTAMPTZ '2000-01-01') AS bucket,
                           device_id, {columns}
                    FROM {table} GROUP BY 1, 2"""
            )


def rollback_step(conn) -> None:  # type: ignore[no-untyped-def]
    cur = conn.cursor()
    kind = "MATERIALIZED VIEW" if uses_timescale(conn) else "VIEW"
    for view in AGGREGATES:
        cur.execute(f"DROP {kind} IF EXISTS {view}")


steps = [step(apply_step, rollback_step)]
