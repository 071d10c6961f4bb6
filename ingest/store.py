"""Idempotent writes: COPY straight into the table, and where that meets a stored row, COPY into
a temporary table and INSERT … ON CONFLICT DO NOTHING.

COPY is the fastest way in but cannot skip rows that are already stored; a redelivered message
(after a crash, before its acknowledgement reached the broker) must be absorbed. Redeliveries
are rare, so each table's rows are first copied directly inside a savepoint (about half the
server time of the staged path, measured: 4.8 against 8.4 µs a row); a unique violation rolls
the savepoint back and the same rows go through the per-session staging table, where the
unique key (device, device time, sequence) decides. The caller owns the transaction: stored
rows, dead letters and the acknowledgement that follows the commit move together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import psycopg
from psycopg import errors

from ingest.decode import PRESENCE_TABLE
from ingest.models import DeadLetter, Row

Conn = psycopg.Connection[Any]

_KEY = [("device_id", "bigint"), ("ts_ms", "bigint"), ("seq", "bigint")]
TABLE_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "reading_vitals": [
        ("hr", "smallint"),
        ("spo2", "smallint"),
        ("skin_temp_c", "real"),
        ("motion_g", "real"),
        ("steps", "int"),
        ("battery", "smallint"),
        ("worn", "boolean"),
    ],
    "reading_env": [
        ("smoke_obs", "real"),
        ("temp_c", "real"),
        ("lel_pct", "real"),
        ("co_ppm", "real"),
        ("battery", "smallint"),
    ],
    "reading_heartbeat": [
        ("interval_s", "int"),
        ("battery", "smallint"),
        ("rssi", "smallint"),
        ("fw", "text"),
    ],
    "device_event": [("event", "text"), ("code", "text"), ("detail", "text")],
    "impact_window": [
        ("rate_hz", "real"),
        ("range_g", "real"),
        ("start_ms", "int"),
        ("acc", "real[]"),
        ("t_ms", "int[]"),
    ],
}
_PRESENCE_COLUMNS = [("device_id", "bigint"), ("ts_ms", "bigint"), ("state", "text")]
_TS = "timestamptz 'epoch' + ts_ms * interval '1 millisecond'"
# The direct path computes the same instant exactly (integer milliseconds, no float seconds), so
# the unique key matches whichever path stored a reading first.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class StoreResult:
    inserted: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    dead_letters: int = 0

    @property
    def stored(self) -> int:
        return sum(self.inserted.values())


def _columns(table: str) -> list[tuple[str, str]]:
    return _PRESENCE_COLUMNS if table == PRESENCE_TABLE else _KEY + TABLE_COLUMNS[table]


def prepare_session(*, conn: Conn) -> None:
    """Create this session's staging tables; they empty themselves at every commit."""
    for table in [*TABLE_COLUMNS, PRESENCE_TABLE]:
        cols = ", ".join(f"{name} {kind}" for name, kind in _columns(table))
        conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS stage_{table} ({cols}) ON COMMIT DELETE ROWS"
        )
    conn.commit()


def store(*, conn: Conn, rows: dict[str, list[Row]], dead: list[DeadLetter]) -> StoreResult:
    """Stage and insert ``rows`` and ``dead``; does not commit."""
    result = StoreResult()
    with conn.cursor() as cur:
        for table, table_rows in rows.items():
            if not table_rows:
                continue
            if _copy_direct(conn, cur, table, table_rows):
                result.inserted[table] = len(table_rows)
                continue
            inserted = _copy_staged(cur, table, table_rows)
            result.inserted[table] = inserted
            result.duplicates += len(table_rows) - inserted
        if dead:
            with cur.copy(
                "COPY dead_letter (topic, device_uid, reason, detail, payload) FROM STDIN"
            ) as copy:
                for d in dead:
                    copy.write_row((d.topic, d.device_uid, d.reason.value, d.detail, d.payload))
            result.dead_letters = len(dead)
    return result


def _copy_direct(conn: Conn, cur: psycopg.Cursor[Any], table: str, rows: list[Row]) -> bool:
    """COPY into the table itself; False (and nothing written) if a row is already stored."""
    names = ["ts" if n == "ts_ms" else n for n, _ in _columns(table)]
    at = names.index("ts")
    try:
        with conn.transaction():
            with cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    ts = _EPOCH + timedelta(milliseconds=cast(int, row[at]))
                    copy.write_row((*row[:at], ts, *row[at + 1 :]))
    except errors.UniqueViolation:
        return False
    return True


def _copy_staged(cur: psycopg.Cursor[Any], table: str, rows: list[Row]) -> int:
    """Stage, then insert what is new; returns the rows inserted."""
    names = [name for name, _ in _columns(table)]
    with cur.copy(f"COPY stage_{table} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    target = ["ts" if n == "ts_ms" else n for n in names]
    source = [_TS if n == "ts_ms" else n for n in names]
    cur.execute(
        f"""INSERT INTO {table} ({", ".join(target)})
            SELECT {", ".join(source)} FROM stage_{table}
            ON CONFLICT DO NOTHING"""
    )
    return cur.rowcount
