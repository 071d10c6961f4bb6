"""Run every variable and panel query of the dashboards against a database, as Grafana would.

Grafana cannot run everywhere (not in CI, not on an inspector's laptop), but its queries can:
each is expanded by ``dashboards.macros`` for the dashboard's default time range with every
variable set to all of its values, run in its own (read-only, when the caller says so)
transaction, and checked for what Grafana needs: distinct column names, and for time series a
``time`` column in ascending order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from dashboards.macros import interpolate, parse_interval
from dashboards.model import Dashboard, Panel

Conn = psycopg.Connection[Any]

MAX_DATA_POINTS = 1000


@dataclass(frozen=True)
class QueryCheck:
    """The outcome of one query: a panel's (``target`` is its title) or a variable's (``$name``)."""

    dashboard: str
    target: str
    columns: tuple[str, ...]
    rows: int
    elapsed_ms: float
    problem: str | None = None


def default_range(dashboard: Dashboard, *, end: datetime) -> tuple[datetime, datetime]:
    """The dashboard's own time range (``now-24h`` … ``now``) ending at ``end``."""
    span = dashboard.time_from.removeprefix("now-")
    return end - parse_interval(span), end


def auto_interval(start: datetime, end: datetime) -> str:
    """Grafana's ``$__interval``: the range over the panel's data points, at least 1 s."""
    seconds = max(1, round((end - start).total_seconds() / MAX_DATA_POINTS))
    return f"{seconds}s"


def check_dashboard(
    conn: Conn,
    dashboard: Dashboard,
    *,
    end: datetime,
    timescaledb: bool,
    span: timedelta | None = None,
) -> list[QueryCheck]:
    """Run the dashboard's variable queries in order, then every panel's query."""
    start, end = default_range(dashboard, end=end) if span is None else (end - span, end)
    interval = auto_interval(start, end)
    values: dict[str, Sequence[str]] = {}
    results: list[QueryCheck] = []

    def expand(sql: str) -> str:
        return interpolate(
            sql,
            start=start,
            end=end,
            interval=interval,
            variables=values,
            timescaledb=timescaledb,
        )

    for variable in dashboard.variables:
        if variable.sql is None:
            values[variable.name] = variable.values
            continue
        result, rows = _run(conn, dashboard, f"${variable.name}", expand, variable.query)
        results.append(result)
        values[variable.name] = _variable_values(result, rows)
    for panel in dashboard.panels():
        result, rows = _run(conn, dashboard, panel.title, expand, panel.query)
        results.append(_shape_problem(panel, result, rows))
    return results


def _run(
    conn: Conn, dashboard: Dashboard, target: str, expand: Callable[[str], str], sql: str
) -> tuple[QueryCheck, list[tuple[Any, ...]]]:
    started = time.perf_counter()
    try:
        query = expand(sql)
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(query)
            rows = cur.fetchall()
            columns = tuple(c.name for c in cur.description or ())
    except (psycopg.Error, ValueError) as exc:
        elapsed = (time.perf_counter() - started) * 1000
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return QueryCheck(dashboard.uid, target, (), 0, elapsed, message), []
    elapsed = (time.perf_counter() - started) * 1000
    return QueryCheck(dashboard.uid, target, columns, len(rows), elapsed), rows


def _variable_values(result: QueryCheck, rows: list[tuple[Any, ...]]) -> tuple[str, ...]:
    """Grafana takes a query variable's values from ``__value``, else the first column."""
    if not rows:
        return ()
    index = result.columns.index("__value") if "__value" in result.columns else 0
    return tuple(str(row[index]) for row in rows)


def _shape_problem(panel: Panel, result: QueryCheck, rows: list[tuple[Any, ...]]) -> QueryCheck:
    if result.problem:
        return result
    problem = None
    if len(set(result.columns)) != len(result.columns):
        problem = f"duplicate column names {result.columns}"
    elif panel.format == "time_series":
        if "time" not in result.columns:
            problem = "a time series needs a column named time"
        else:
            index = result.columns.index("time")
            times = [row[index] for row in rows]
            if any(b < a for a, b in zip(times, times[1:], strict=False)):
                problem = "time series rows must be in ascending time order"
    if problem is None:
        return result
    return QueryCheck(
        result.dashboard, result.target, result.columns, result.rows, result.elapsed_ms, problem
    )
