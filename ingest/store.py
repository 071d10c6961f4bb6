"""Idempotent writes: COPY into a temporary table, then INSERT … ON CONFLICT DO NOTHING.

COPY alone is the fastest way in but cannot skip rows that are already stored; a redelivered
message (after a crash, before its acknowledgement reached the broker) must be absorbed, so rows
pass through a per-session staging table and the unique key (device, device time, sequence)
decides. The caller owns the transaction: stored rows, dead letters and the acknowledgement
that follows the commit move together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg

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
            names = [name for name, _ in _columns(table)]
            with cur.copy(f"COPY stage_{table} ({', '.join(names)}) FROM STDIN") as copy:
                for row in table_rows:
                    copy.write_row(row)
            target = ["ts" if n == "ts_ms" else n for n in names]
            source = [_TS if n == "ts_ms" else n for n in names]
            cur.execute(
                f"""INSERT INTO {table} ({", ".join(target)})
                    SELECT {", ".join(source)} FROM stage_{table}
                    ON CONFLICT DO NOTHING"""
            )
            result.inserted[table] = cur.rowcount
            result.duplicates += len(table_rows) - cur.rowcount
        if dead:
            with cur.copy(
                "COPY dead_letter (topic, device_uid, reason, detail, payload) FROM STDIN"
            ) as copy:
                for d in dead:
                    copy.write_row((d.topic, d.device_uid, d.reason.value, d.detail, d.payload))
            result.dead_letters = len(dead)
    return result
