"""Readings: one table per kind, keyed by (device, device time, sequence) so writes are idempotent.

With TimescaleDB each table becomes a hypertable with compression and retention policies. On plain
PostgreSQL the same tables stay plain, with a BRIN index on time (cheap for append-only data) and
retention run by ``anxin db maintain``. Which path is ``ANXIN_STORAGE``'s choice
(``anxin.storage``): the extension being available is not enough, it must also be preloaded.
"""

from yoyo import step

from anxin.storage import uses_timescale

__depends__ = {"20261123_01_registry"}

READING_TABLES = {
    "reading_vitals": """
        hr smallint, spo2 smallint, skin_temp_c real, motion_g real, steps int,
        battery smallint, worn boolean""",
    "reading_env": """
        smoke_obs real, temp_c real, lel_pct real, co_ppm real, battery smallint""",
    "reading_heartbeat": """
        interval_s int NOT NULL, battery smallint, rssi smallint, fw text""",
    "device_event": """
        event text NOT NULL, code text, detail text""",
    "impact_window": """
        rate_hz real NOT NULL, range_g real NOT NULL, start_ms int NOT NULL,
        acc real[] NOT NULL, t_ms int[]""",
}
RETENTION = {
    "reading_vitals": "400 days",
    "reading_env": "400 days",
    "reading_heartbeat": "90 days",
    "device_event": "1825 days",
    "impact_window": "1825 days",
}


def apply_step(conn) -> None:  # type: ignore[no-untyped-def]
    timescale = uses_timescale(conn)
    cur = conn.cursor()
    for table, columns in READING_TABLES.items():
        cur.execute(
            f"""CREATE TABLE {table} (
                ts timestamptz NOT NULL,
                device_id bigint NOT NULL,
                seq bigint NOT NULL,
                received_at timestamptz NOT NULL DEFAULT now(),
                {columns},
                UNIQUE (device_id, ts, seq)
            )"""
        )
        if timescale:
            cur.execute(
                f"SELECT create_hypertable('{table}', 'ts', "
                "chunk_time_interval => INTERVAL '1 day')"
            )
            cur.execute(
                f"""ALTER TABLE {table} SET (timescaledb.compress,
                    timescaledb.compress_segmentby = 'device_id',
                    timescaledb.compress_orderby = 'ts DESC, seq DESC')"""
            )
            cur.execute(f"SELECT add_compression_policy('{table}', INTERVAL '7 days')")
            cur.execute(f"SELECT add_retention_policy('{table}', INTERVAL '{RETENTION[table]}')")
        else:
            cur.execute(f"CREATE INDEX {table}_ts_brin ON {table} USING brin (ts)")
    cur.execute(
        """CREATE TABLE device_presence (
            ts timestamptz NOT NULL,
            device_id bigint NOT NULL,
            state text NOT NULL CHECK (state IN ('online', 'offline')),
            received_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (device_id, ts, state)
        )"""
    )
    cur.execute(
        """CREATE TABLE retention_policy (
            table_name text PRIMARY KEY,
            keep interval NOT NULL
        )"""
    )
    for table, keep in RETENTION.items():
        cur.execute(
            "INSERT INTO retention_policy (table_name, keep) VALUES (%s, %s::interval)",
            (table, keep),
        )


def rollback_step(conn) -> None:  # type: ignore[no-untyped-def]
    cur = conn.cursor()
    for table in [*READING_TABLES, "device_presence", "retention_policy"]:
        cur.execute(f"DROP TABLE IF EXISTS {table}")


steps = [step(apply_step, rollback_step)]
