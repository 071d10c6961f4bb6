"""``anxin bench history``: the inspectors' queries over 100 M readings and 1 M alarms.

Fills ``anxin_bench_history`` (dropped and created fresh, unless ``--reuse`` finds it filled
with the same sizes), then times the very functions the API calls (``api.inspector``), warm,
``runs`` times each. The measure is an inspector of one district (a tenth of the sites):
``p50_ms``/``p95_ms`` are over all of its queries. The same queries by an admin over every
site are timed too and reported under ``admin``, beside the measure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from anxin.db import connect, detect_backend, with_database
from anxin.migrate import migrate
from anxin.settings import Settings
from api.inspector import rollup
from api.inspector.health import device_health
from api.inspector.history import history_page, unacknowledged
from api.inspector.models import AlarmFilter, Cursor, Outcome
from api.inspector.stats import statistics
from bench import history_fill as fill

DATABASE = "anxin_bench_history"
WARMUP_RUNS = 2
DEEP_PAGE_ROWS = 20_000


@dataclass(frozen=True)
class HistoryBenchConfig:
    readings: int = 100_000_000
    alarms: int = 1_000_000
    sites: int = 200
    runs: int = 30
    reuse: bool = False


def run(settings: Settings, config: HistoryBenchConfig, console: Console) -> dict[str, Any]:
    """Fill (or reuse) the database, time the queries, and return the figures."""
    db_url = with_database(settings.database_url, DATABASE)
    filled = _filled_sizes(db_url) if config.reuse else None
    if filled == (config.readings, config.alarms, config.sites):
        console.print(f"reusing {DATABASE} (already filled with these sizes)")
        fill_figures: dict[str, Any] = {"fill": "reused"}
    else:
        if config.reuse:
            console.print(f"{DATABASE} is missing or holds other sizes: filling it afresh")
        fill_figures = _fill(db_url, config, console)
    with connect(db_url, autocommit=True) as conn:
        inspector, admin = _queries(conn)
        timings = _time_queries({**inspector, **admin}, config.runs, console)
        storage = detect_backend(conn).describe()
    return {
        **_figures({name: timings[name] for name in inspector}),
        "admin": _figures({name: timings[name] for name in admin}),
        "runs_per_query": config.runs,
        "readings": config.readings,
        "alarms": config.alarms,
        "sites": config.sites,
        **fill_figures,
        "storage": storage,
    }


def _figures(timings: dict[str, list[float]]) -> dict[str, Any]:
    every = np.concatenate([np.array(t) for t in timings.values()])
    return {
        "p50_ms": _pct(every, 50),
        "p95_ms": _pct(every, 95),
        "queries": {
            name: {"p50_ms": _pct(np.array(t), 50), "p95_ms": _pct(np.array(t), 95)}
            for name, t in timings.items()
        },
    }


def _pct(values: np.ndarray, q: int) -> float:
    return round(float(np.percentile(values, q)), 2)


def _filled_sizes(db_url: str) -> tuple[int, int, int] | None:
    try:
        with connect(db_url, autocommit=True) as conn:
            row = conn.execute("SELECT readings, alarms, sites FROM bench_fill").fetchone()
    except psycopg.Error:
        return None
    return (int(row[0]), int(row[1]), int(row[2])) if row else None


def _fill(db_url: str, config: HistoryBenchConfig, console: Console) -> dict[str, Any]:
    name = DATABASE
    with connect(with_database(db_url, "postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    migrate(db_url)
    end = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    with connect(db_url) as conn:
        fleet = fill.create_fleet(conn, config.sites)
        keys = fill.prepare_for_load(conn, timescale=detect_backend(conn).is_timescale)
        with _bar(console) as bar:
            task = bar.add_task("readings (COPY)", total=config.readings)
            t0 = time.perf_counter()
            written = fill.fill_readings(
                conn, fleet, config.readings, end, lambda n: bar.advance(task, n)
            )
            readings_s = time.perf_counter() - t0
            task = bar.add_task("alarms (COPY)", total=config.alarms)
            t0 = time.perf_counter()
            fill.fill_alarms(conn, fleet, config.alarms, end, lambda n: bar.advance(task, n))
            alarms_s = time.perf_counter() - t0
        console.print("rebuilding the readings' unique keys, vacuuming and analysing ...")
        t0 = time.perf_counter()
        fill.rebuild_keys(conn, keys)
        conn.execute(
            """CREATE TABLE bench_fill AS
               SELECT %s::bigint AS readings, %s::bigint AS alarms, %s::int AS sites""",
            (config.readings, config.alarms, config.sites),
        )
        conn.commit()
    with connect(db_url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) alarms")
        conn.execute("ANALYZE")
        keys_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        months = rollup.refresh(conn=conn, now=end)
        rollup_s = time.perf_counter() - t0
    total_s = time.perf_counter() - started
    console.print(
        f"filled {written:,} readings in {readings_s:.0f} s ({written / readings_s:,.0f}/s), "
        f"{config.alarms:,} alarms in {alarms_s:.0f} s, keys and vacuum in {keys_s:.0f} s, "
        f"statistics rollup ({months:,} site-months) in {rollup_s:.0f} s: {total_s:.0f} s in all"
    )
    per_reading = (readings_s + keys_s) / max(written, 1)
    return {
        "fill_s": round(total_s, 1),
        "fill_readings_s": round(readings_s, 1),
        "fill_alarms_s": round(alarms_s, 1),
        "fill_keys_vacuum_s": round(keys_s, 1),
        "fill_rollup_s": round(rollup_s, 1),
        "readings_written": written,
        "readings_per_s": round(written / readings_s),
        "projected_fill_100m_s": round(per_reading * 100_000_000 + alarms_s + rollup_s),
    }


def _bar(console: Console) -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


Queries = dict[str, Callable[[], object]]


def _queries(conn: psycopg.Connection[Any]) -> tuple[Queries, Queries]:
    """The timed queries, each as the API would run it: an inspector of one district (the
    target's measure), and an admin over every site (reported beside it)."""
    districts: dict[str, list[int]] = {}
    for site_id, region in conn.execute("SELECT id, region FROM sites ORDER BY id"):
        districts.setdefault(str(region).split("/")[0], []).append(int(site_id))
    district = districts[min(districts)]
    everything = [i for ids in districts.values() for i in ids]
    now = datetime.now(UTC)
    quarter = AlarmFilter(since=now - timedelta(days=90), severities=(3, 4))
    year = AlarmFilter(since=now - timedelta(days=365))
    falls = AlarmFilter(kinds=("fall", "sos"), outcomes=(Outcome.REAL,))
    deep = _cursor_at(conn, district, year, DEEP_PAGE_ROWS)
    inspector: Queries = {
        "history_first_page": lambda: history_page(conn=conn, scope=district, spec=quarter),
        "history_deep_page": lambda: history_page(conn=conn, scope=district, spec=year, after=deep),
        "history_kind_outcome": lambda: history_page(conn=conn, scope=district, spec=falls),
        "statistics_quarter_filtered": lambda: statistics(
            conn=conn, scope=district, spec=quarter, now=now
        ),
        "statistics_year": lambda: statistics(conn=conn, scope=district, spec=year, now=now),
        "unacknowledged": lambda: unacknowledged(conn=conn, scope=district, now=now),
        "device_health": lambda: device_health(conn=conn, scope=district, now=now),
    }
    admin: Queries = {
        "history_all_sites": lambda: history_page(conn=conn, scope=everything, spec=year),
        "statistics_all_sites_year": lambda: statistics(
            conn=conn, scope=everything, spec=year, now=now
        ),
    }
    return inspector, admin


def _cursor_at(
    conn: psycopg.Connection[Any], sites: list[int], spec: AlarmFilter, rows: int
) -> Cursor | None:
    """Where the page after ``rows`` matches begins, found by walking pages (not timed)."""
    after: Cursor | None = None
    for _ in range(rows // 500):
        page = history_page(conn=conn, scope=sites, spec=spec, limit=500, after=after)
        if page.next_cursor is None:
            break
        after = Cursor.decode(page.next_cursor)
    return after


def _time_queries(queries: Queries, runs: int, console: Console) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {}
    with _bar(console) as bar:
        task = bar.add_task("timing queries", total=len(queries) * (runs + WARMUP_RUNS))
        for name, query in queries.items():
            samples = []
            for i in range(runs + WARMUP_RUNS):
                t0 = time.perf_counter()
                query()
                elapsed_ms = (time.perf_counter() - t0) * 1000
                if i >= WARMUP_RUNS:
                    samples.append(elapsed_ms)
                bar.advance(task)
            timings[name] = samples
    return timings
