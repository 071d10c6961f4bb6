"""Retention for ``device_presence`` (online/offline transitions), kept as long as heartbeats.

TimescaleDB: the table becomes a hypertable (its rows move into chunks) with a retention policy,
as the readings tables have. Plain PostgreSQL: a ``retention_policy`` row, which
``anxin db maintain`` applies.
"""

from yoyo import step

from anxin.storage import uses_timescale

__depends__ = {"20261123_02_readings"}

KEEP = "90 days"


def apply_step(conn) -> None:  # type: ignore[no-untyped-def]
    cur = conn.cursor()
    if uses_timescale(conn):
        cur.execute(
            "SELECT create_hypertable('device_presence', 'ts', "
            "chunk_time_interval => INTERVAL '7 days', migrate_data => true)"
        )
        cur.execute(f"SELECT add_retention_policy('device_presence', INTERVAL '{KEEP}')")
    cur.execute(
        "INSERT INTO retention_policy (table_name, keep) VALUES ('device_presence', %s::interval)",
        (KEEP,),
    )


def rollback_step(conn) -> None:  # type: ignore[no-untyped-def]
    cur = conn.cursor()
    if uses_timescale(conn):
        # A hypertable cannot be turned back into a plain table; without its policy it keeps
        # every row, as before this migration.
        cur.execute("SELECT remove_retention_policy('device_presence', if_exists => true)")
    cur.execute("DELETE FROM retention_policy WHERE table_name = 'device_presence'")


steps = [step(apply_step, rollback_step)]
