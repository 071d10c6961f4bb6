"""Fill a benchmark database with a region's worth of history: sites, devices, readings, alarms.

The fleet: ``sites`` care homes in 10 districts, each with 40 bracelets and 10 fire/gas sensors.
Readings run up to now in time order, as ingest writes them: vitals every minute from each
bracelet, environment every minute from each sensor, a heartbeat every 5 minutes from every
device (12,000 rows a minute for 200 sites, so 100 M readings cover about six days). Alarms are
spread over the last two years, with realistic response times.

Readings go in by binary COPY built with numpy: every column is fixed-width, so a whole chunk
is one structured array turned into bytes, and the Python side costs almost nothing next to the
server's. The tables' unique keys are dropped for the load and rebuilt after it in one sort
(the usual bulk-load practice); on plain PostgreSQL the readings tables are made UNLOGGED while
still empty (the benchmark database is throwaway; reads are not affected).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

Conn = psycopg.Connection[Any]
Progress = Callable[[int], None]

DISTRICTS = 10
BRACELETS_PER_SITE = 40
SENSORS_PER_SITE = 10
HEARTBEAT_EVERY_MIN = 5
ALARM_SPAN = timedelta(days=730)
CHUNK_MINUTES = 120
PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_TRAILER = struct.pack(">h", -1)
READING_TABLES = ("reading_vitals", "reading_env", "reading_heartbeat")


@dataclass(frozen=True)
class Fleet:
    site_ids: list[int]
    bracelets: np.ndarray
    sensors: np.ndarray
    districts: dict[str, list[int]]

    @property
    def devices(self) -> np.ndarray:
        return np.concatenate([self.bracelets, self.sensors])

    def rows_per_minute(self) -> float:
        return len(self.bracelets) + len(self.sensors) + len(self.devices) / HEARTBEAT_EVERY_MIN


def create_fleet(conn: Conn, sites: int) -> Fleet:
    """Sites in districts (region ``District-k/Town-j``), rooms, and the devices."""
    conn.execute(
        """INSERT INTO sites (uid, name, kind, region)
           SELECT 'bench-' || lpad(i::text, 4, '0'), 'Care home ' || i, 'care_home',
                  'District-' || (i %% %(d)s) || '/Town-' || (i / %(d)s %% 5)
           FROM generate_series(0, %(n)s - 1) AS i""",
        {"n": sites, "d": DISTRICTS},
    )
    conn.execute(
        """INSERT INTO locations (site_id, name, kind)
           SELECT s.id, 'room ' || r, 'room' FROM sites s, generate_series(1, %s) AS r""",
        (SENSORS_PER_SITE,),
    )
    conn.execute(
        """INSERT INTO devices (uid, site_id, kind, heartbeat_interval_s, created_at)
           SELECT s.uid || '-b' || b, s.id, 'bracelet', %(hb)s, now() - interval '800 days'
           FROM sites s, generate_series(1, %(per)s) AS b""",
        {"hb": HEARTBEAT_EVERY_MIN * 60, "per": BRACELETS_PER_SITE},
    )
    conn.execute(
        """INSERT INTO devices (uid, site_id, kind, location_id, heartbeat_interval_s, created_at)
           SELECT s.uid || '-s' || l.id, s.id,
                  (ARRAY['smoke', 'heat', 'gas', 'co', 'multi']::device_kind[])[1 + l.id %% 5],
                  l.id, %(hb)s, now() - interval '800 days'
           FROM sites s JOIN locations l ON l.site_id = s.id""",
        {"hb": HEARTBEAT_EVERY_MIN * 60},
    )
    bracelets = [r[0] for r in conn.execute("SELECT id FROM devices WHERE kind = 'bracelet'")]
    sensors = [r[0] for r in conn.execute("SELECT id FROM devices WHERE kind <> 'bracelet'")]
    districts: dict[str, list[int]] = {}
    for site_id, region in conn.execute("SELECT id, region FROM sites ORDER BY id"):
        districts.setdefault(region.split("/")[0], []).append(int(site_id))
    return Fleet(
        site_ids=[i for ids in districts.values() for i in ids],
        bracelets=np.array(sorted(bracelets), dtype=np.int64),
        sensors=np.array(sorted(sensors), dtype=np.int64),
        districts=districts,
    )


def _micros(moment: datetime) -> int:
    return (moment - PG_EPOCH) // timedelta(microseconds=1)


def binary_copy(columns: list[tuple[str, str, np.ndarray]]) -> bytes:
    """COPY BINARY rows (without header) from equal-length, non-null, fixed-width columns:
    each tuple is a field count, then per field its length and big-endian value."""
    fields = [("count", ">i2")]
    for name, dtype, _ in columns:
        fields += [(f"{name}_len", ">i4"), (name, dtype)]
    rows = np.empty(len(columns[0][2]), dtype=np.dtype(fields))
    rows["count"] = len(columns)
    for name, dtype, values in columns:
        rows[f"{name}_len"] = np.dtype(dtype).itemsize
        rows[name] = values
    return rows.tobytes()


def _slice_rows(
    table: str, devices: np.ndarray, minutes: np.ndarray, start_us: int, rng: np.random.Generator
) -> tuple[list[str], bytes]:
    dev = np.tile(devices, len(minutes))
    minute = np.repeat(minutes, len(devices))
    ts = start_us + minute * 60_000_000 + (dev * 7_919_000) % 60_000_000
    n = len(dev)
    base: list[tuple[str, str, np.ndarray]] = [
        ("ts", ">i8", ts),
        ("device_id", ">i8", dev),
        ("seq", ">i8", minute),
        ("received_at", ">i8", ts + rng.integers(20_000, 400_000, n)),
    ]
    battery = np.clip(100 - (minute // 90 + dev) % 100, 5, 100)
    if table == "reading_vitals":
        extra = [
            ("hr", ">i2", rng.normal(74, 9, n).astype(np.int16)),
            ("spo2", ">i2", rng.integers(93, 100, n)),
            ("skin_temp_c", ">f4", rng.normal(33.5, 0.6, n)),
            ("motion_g", ">f4", rng.gamma(1.2, 0.05, n)),
            ("steps", ">i4", rng.integers(0, 60, n)),
            ("battery", ">i2", battery),
            ("worn", "u1", np.ones(n)),
        ]
    elif table == "reading_env":
        extra = [
            ("smoke_obs", ">f4", rng.gamma(1.1, 0.02, n)),
            ("temp_c", ">f4", rng.normal(22, 1.5, n)),
            ("lel_pct", ">f4", rng.gamma(1.0, 0.3, n)),
            ("co_ppm", ">f4", rng.gamma(1.5, 1.0, n)),
            ("battery", ">i2", battery),
        ]
    else:
        extra = [
            ("interval_s", ">i4", np.full(n, HEARTBEAT_EVERY_MIN * 60)),
            ("battery", ">i2", battery),
            ("rssi", ">i2", rng.integers(-95, -40, n)),
        ]
    columns = base + extra
    return [name for name, _, _ in columns], binary_copy(columns)


def readings_plan(fleet: Fleet, readings: int) -> int:
    """Minutes of history that hold ``readings`` rows for this fleet."""
    return max(HEARTBEAT_EVERY_MIN, round(readings / fleet.rows_per_minute()))


def fill_readings(
    conn: Conn, fleet: Fleet, readings: int, end: datetime, progress: Progress
) -> int:
    """COPY about ``readings`` rows ending at ``end``, in chunks of CHUNK_MINUTES; returns the
    number of rows written."""
    minutes = readings_plan(fleet, readings)
    start_us = _micros(end - timedelta(minutes=minutes))
    rng = np.random.default_rng(7)
    written = 0
    for first in range(0, minutes, CHUNK_MINUTES):
        span = np.arange(first, min(first + CHUNK_MINUTES, minutes), dtype=np.int64)
        beats = span[span % HEARTBEAT_EVERY_MIN == 0]
        for table, devices, when in (
            ("reading_vitals", fleet.bracelets, span),
            ("reading_env", fleet.sensors, span),
            ("reading_heartbeat", fleet.devices, beats),
        ):
            if len(when) == 0:
                continue
            names, body = _slice_rows(table, devices, when, start_us, rng)
            _copy_binary(conn, table, names, body)
            count = len(devices) * len(when)
            written += count
            progress(count)
        conn.commit()
    return written


def _copy_binary(conn: Conn, table: str, names: list[str], body: bytes) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names))
    )
    with conn.cursor().copy(statement) as copy:
        copy.write(_HEADER)
        for offset in range(0, len(body), 1 << 24):
            copy.write(body[offset : offset + (1 << 24)])
        copy.write(_TRAILER)


KINDS = np.array(
    [
        "fall",
        "sos",
        "vitals_hr",
        "inactivity",
        "fire",
        "gas",
        "co",
        "device_offline",
        "low_battery",
        "not_worn",
        "self_test_overdue",
    ]
)
KIND_WEIGHTS = np.array([8, 6, 10, 5, 1, 2, 1, 25, 25, 12, 5], dtype=float)
KIND_SEVERITY = np.array([4, 4, 3, 3, 4, 3, 3, 2, 2, 2, 2])


def alarm_lines(fleet: Fleet, count: int, end: datetime, seed: int = 11) -> Iterator[str]:
    """Alarms in raised order, as COPY text lines; the last hour's are still open."""
    rng = np.random.default_rng(seed)
    span_s = ALARM_SPAN.total_seconds()
    offsets = np.sort(rng.uniform(0, span_s, count))
    sites = rng.choice(np.array(fleet.site_ids), count)
    kinds = rng.choice(len(KINDS), count, p=KIND_WEIGHTS / KIND_WEIGHTS.sum())
    ack = rng.lognormal(np.log(35), 0.9, count)
    resolve = ack + rng.lognormal(np.log(600), 1.0, count)
    fate = rng.random(count)
    start = end - ALARM_SPAN
    for i in range(count):
        raised = start + timedelta(seconds=float(offsets[i]))
        kind = int(kinds[i])
        open_now = (end - raised).total_seconds() < 3600
        ack_at = res_at = clr_at = outcome = None
        if open_now:
            state = "open"
        elif fate[i] < 0.12:
            state, clr_at = "cleared", raised + timedelta(seconds=float(ack[i]) * 3)
        else:
            state = "resolved"
            ack_at = raised + timedelta(seconds=float(ack[i]))
            res_at = raised + timedelta(seconds=float(resolve[i]))
            outcome = "false_alarm" if fate[i] > 0.9 else ("test" if fate[i] > 0.88 else "real")
        values = (
            KINDS[kind],
            KIND_SEVERITY[kind],
            state,
            sites[i],
            "resident",
            i + 1,
            f"{KINDS[kind]} alarm {i}",
            raised,
            raised,
            raised,
            ack_at,
            "duty" if ack_at else None,
            res_at,
            "duty" if res_at else None,
            outcome,
            clr_at,
        )
        yield "\t".join(r"\N" if v is None else str(v) for v in values) + "\n"


ALARM_COLUMNS = (
    "kind",
    "severity",
    "state",
    "site_id",
    "subject_kind",
    "subject_id",
    "title",
    "first_seen_at",
    "last_seen_at",
    "raised_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "outcome",
    "cleared_at",
)


def fill_alarms(conn: Conn, fleet: Fleet, count: int, end: datetime, progress: Progress) -> None:
    statement = sql.SQL("COPY alarms ({}) FROM STDIN").format(
        sql.SQL(", ").join(map(sql.Identifier, ALARM_COLUMNS))
    )
    batch = io.StringIO()
    pending = 0
    with conn.cursor().copy(statement) as copy:
        for line in alarm_lines(fleet, count, end):
            batch.write(line)
            pending += 1
            if pending == 50_000:
                copy.write(batch.getvalue())
                progress(pending)
                batch, pending = io.StringIO(), 0
        copy.write(batch.getvalue())
        progress(pending)
    conn.commit()


def unique_keys(conn: Conn) -> dict[str, str]:
    """Name of the (device_id, ts, seq) unique constraint of each readings table."""
    rows = conn.execute(
        """SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c
           WHERE c.contype = 'u' AND c.conrelid::regclass::text = ANY(%s)""",
        (list(READING_TABLES),),
    ).fetchall()
    return {str(table): str(name) for table, name in rows}


def prepare_for_load(conn: Conn, *, timescale: bool) -> dict[str, str]:
    """Drop the readings' unique keys (and, on plain PostgreSQL, stop logging the still-empty
    tables); returns the keys to rebuild."""
    keys = unique_keys(conn)
    for table, name in keys.items():
        conn.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
        if not timescale:
            conn.execute(sql.SQL("ALTER TABLE {} SET UNLOGGED").format(sql.Identifier(table)))
    conn.commit()
    return keys


def rebuild_keys(conn: Conn, keys: dict[str, str]) -> None:
    conn.execute("SET maintenance_work_mem = '1GB'")
    for table, name in keys.items():
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} UNIQUE (device_id, ts, seq)").format(
                sql.Identifier(table), sql.Identifier(name)
            )
        )
        conn.commit()
