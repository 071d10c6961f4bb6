"""Statistics cells: counts and response times per (site, local month, shift).

A cell carries the response times themselves (as float4), not summaries, so that percentiles
over any set of cells are exact. Cells come from two places with the same SQL aggregate: live
from ``alarms`` over given time ranges, or from ``alarm_response_rollup``, where ``refresh``
stores each month's cells from its start up to ``through``, the last day boundary before which
all its alarms are resolved or cleared (final states), so stored cells never go stale. See the
migration ``20261123_08_rectification``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import psycopg
from psycopg import sql

from api.inspector.filters import alarm_conditions, joined
from api.inspector.models import AlarmFilter
from api.inspector.shifts import DEFAULT_SHIFTS, Shift, shift_of_hour

Conn = psycopg.Connection[Any]

_FLOAT4 = np.dtype(">f4")


@dataclass(frozen=True)
class Cell:
    site_id: int
    month: date
    shift: str
    alarms: int
    acknowledged: int
    resolved: int
    false_alarms: int
    unacknowledged_60s: int
    ack_s: np.ndarray
    resolve_s: np.ndarray


@dataclass(frozen=True)
class Range:
    """Alarms of one site raised in ``[start, end)``."""

    site_id: int
    start: datetime
    end: datetime


# Cells of the alarms raised in the ranges %(site)s/%(start)s/%(end)s that meet {conditions}:
# per alarm the local month and hour, the response times, and whether it waited over 60 s for
# a first response (for a finished alarm that no longer depends on %(now)s).
_CELLS = """
WITH per_alarm AS (
    SELECT a.site_id,
           date_trunc('month', a.raised_at AT TIME ZONE s.timezone)::date AS month,
           extract(hour FROM a.raised_at AT TIME ZONE s.timezone)::int AS hour,
           extract(epoch FROM least(a.acknowledged_at, a.resolved_at) - a.raised_at)::float4
               AS ack_s,
           extract(epoch FROM a.resolved_at - a.raised_at)::float4 AS resolve_s,
           a.outcome,
           NOT a.silenced AND coalesce(least(a.acknowledged_at, a.resolved_at, a.cleared_at),
                                       %(now)s) - a.raised_at > interval '60 seconds' AS late
    FROM unnest(%(site)s::bigint[], %(start)s::timestamptz[], %(end)s::timestamptz[])
         AS r(site_id, lo, hi)
    JOIN alarms a ON a.site_id = r.site_id AND a.raised_at >= r.lo AND a.raised_at < r.hi
    JOIN sites s ON s.id = a.site_id
    WHERE {conditions}
)
SELECT site_id, month, {shift} AS shift,
       count(*) AS alarms, count(ack_s) AS acknowledged, count(resolve_s) AS resolved,
       count(*) FILTER (WHERE outcome = 'false_alarm') AS false_alarms,
       count(*) FILTER (WHERE late) AS unacknowledged_60s,
       coalesce(string_agg(float4send(ack_s), ''::bytea), ''::bytea) AS ack_s,
       coalesce(string_agg(float4send(resolve_s), ''::bytea), ''::bytea) AS resolve_s
FROM per_alarm GROUP BY 1, 2, 3
"""
_COLUMNS = sql.SQL(
    "site_id, month, shift, alarms, acknowledged, resolved, false_alarms, unacknowledged_60s, "
    "ack_s, resolve_s"
)


def _cells_query(conditions: Sequence[sql.Composable], shifts: Sequence[Shift]) -> sql.Composed:
    return sql.SQL(_CELLS).format(
        conditions=joined(conditions), shift=shift_of_hour(shifts, sql.SQL("hour"))
    )


def _range_params(ranges: Sequence[Range], now: datetime) -> dict[str, Any]:
    return {
        "site": [r.site_id for r in ranges],
        "start": [r.start for r in ranges],
        "end": [r.end for r in ranges],
        "now": now,
    }


def _cells(rows: Sequence[tuple[Any, ...]]) -> list[Cell]:
    return [
        Cell(
            site_id=int(site_id),
            month=month,
            shift=str(shift),
            alarms=int(alarms),
            acknowledged=int(acknowledged),
            resolved=int(resolved),
            false_alarms=int(false_alarms),
            unacknowledged_60s=int(late),
            ack_s=np.frombuffer(ack, dtype=_FLOAT4).astype(np.float32),
            resolve_s=np.frombuffer(resolve, dtype=_FLOAT4).astype(np.float32),
        )
        for (
            site_id,
            month,
            shift,
            alarms,
            acknowledged,
            resolved,
            false_alarms,
            late,
            ack,
            resolve,
        ) in rows
    ]


def live_cells(
    *,
    conn: Conn,
    ranges: Sequence[Range],
    spec: AlarmFilter,
    shifts: Sequence[Shift],
    now: datetime,
) -> list[Cell]:
    """Cells computed from the alarms of ``ranges`` that match ``spec`` (its sites and period
    are the caller's business: the ranges already say which)."""
    if not ranges:
        return []
    conditions, params = alarm_conditions(
        spec.model_copy(update={"since": None, "until": None, "sites": ()})
    )
    params.update(_range_params(ranges, now))
    query = _cells_query(conditions, shifts)
    return _cells(conn.execute(query, params, binary=True).fetchall())


@dataclass(frozen=True)
class Held:
    """What the rollup holds of one (site, month): cells up to ``through``, computed at
    ``rolled_at`` (together they name one immutable set of cells)."""

    through: datetime
    rolled_at: datetime


def rolled_months(
    *, conn: Conn, sites: Sequence[int], first: date, last: date
) -> dict[tuple[int, date], Held]:
    """The (site, month) pairs between ``first`` and ``last`` that the rollup holds."""
    rows = conn.execute(
        """SELECT site_id, month, through, rolled_at FROM alarm_response_months
           WHERE site_id = ANY(%s::bigint[]) AND month BETWEEN %s AND %s""",
        (list(sites), first, last),
    ).fetchall()
    return {(int(site), month): Held(through, rolled) for site, month, through, rolled in rows}


_CACHE_LIMIT = 100_000
_cache: dict[tuple[str, int, date, Held], list[Cell]] = {}


def rolled_cells(*, conn: Conn, months: dict[tuple[int, date], Held]) -> list[Cell]:
    """The stored cells of the given (site, month) pairs.

    Stored cells never change (a refresh that reaches further writes a new ``rolled_at``), so
    this process keeps the last 100,000 site-months it read and asks the database only for the
    others: what an inspector asks for again, or for an overlapping scope, comes from memory.
    """
    database = str(conn.info.dbname)
    out: list[Cell] = []
    missing: dict[tuple[int, date], Held] = {}
    for (site, month), held in months.items():
        cached = _cache.get((database, site, month, held))
        if cached is None:
            missing[(site, month)] = held
        else:
            out.extend(cached)
    if not missing:
        return out
    query = sql.SQL(
        """SELECT {} FROM alarm_response_rollup
           WHERE site_id = ANY(%s::bigint[]) AND month BETWEEN %s AND %s"""
    ).format(_COLUMNS)
    sites = sorted({site for site, _ in missing})
    first, last = min(m for _, m in missing), max(m for _, m in missing)
    rows = conn.execute(query, (sites, first, last), binary=True).fetchall()
    fetched: dict[tuple[int, date], list[Cell]] = {pair: [] for pair in missing}
    for cell in _cells([row for row in rows if (row[0], row[1]) in missing]):
        fetched[(cell.site_id, cell.month)].append(cell)
    for pair, cells in fetched.items():
        while len(_cache) >= _CACHE_LIMIT:
            _cache.pop(next(iter(_cache)), None)
        _cache[(database, *pair, missing[pair])] = cells
        out.extend(cells)
    return out


# For each (site, month) with alarms before the site's local today: how far its cells can go.
_PLAN = """
WITH months AS (
    SELECT a.site_id, s.timezone,
           date_trunc('month', a.raised_at AT TIME ZONE s.timezone)::date AS month,
           min(a.raised_at) FILTER (WHERE a.state NOT IN ('resolved', 'cleared')) AS first_open
    FROM alarms a JOIN sites s ON s.id = a.site_id
    WHERE a.raised_at < date_trunc('day', %(now)s AT TIME ZONE s.timezone) AT TIME ZONE s.timezone
    GROUP BY 1, 2, 3
), planned AS (
    SELECT site_id, month, month::timestamp AT TIME ZONE timezone AS start,
           least((month + interval '1 month')::timestamp AT TIME ZONE timezone,
                 date_trunc('day', %(now)s AT TIME ZONE timezone) AT TIME ZONE timezone,
                 date_trunc('day', first_open AT TIME ZONE timezone) AT TIME ZONE timezone)
               AS through
    FROM months
)
SELECT p.site_id, p.month, p.start, p.through FROM planned p
LEFT JOIN alarm_response_months m USING (site_id, month)
WHERE p.through > p.start AND p.through IS DISTINCT FROM m.through
"""


def refresh(*, conn: Conn, now: datetime) -> int:
    """Bring the rollup up to the start of each site's local today: every (site, month) whose
    cells can now reach further is recomputed; returns how many were. Run it daily (``anxin db
    maintain``); it reads every alarm's index entry once (about a second per million)."""
    with conn.transaction():
        plan = conn.execute(_PLAN, {"now": now}).fetchall()
        if not plan:
            return 0
        site, month, start, through = (list(column) for column in zip(*plan, strict=True))
        conn.execute(
            """DELETE FROM alarm_response_months WHERE (site_id, month) IN (
                   SELECT * FROM unnest(%s::bigint[], %s::date[]))""",
            (site, month),
        )
        conn.execute(
            """INSERT INTO alarm_response_months (site_id, month, through, rolled_at)
               SELECT *, %s FROM unnest(%s::bigint[], %s::date[], %s::timestamptz[])""",
            (now, site, month, through),
        )
        ranges = [Range(*row) for row in zip(site, start, through, strict=True)]
        query = sql.SQL("INSERT INTO alarm_response_rollup ({}) ").format(_COLUMNS)
        conn.execute(query + _cells_query([], DEFAULT_SHIFTS), _range_params(ranges, now))
    return len(plan)
