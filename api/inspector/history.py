"""Incident history: filtered, newest first, keyset-paginated; and alarms nobody acknowledged.

Pages resume after the (raised_at, id) of the previous page's last row instead of skipping
rows with OFFSET, so page 1,000 costs what page 1 costs. Each site in scope is walked on its
own (``alarms_history`` index, newest first, filters checked on the index) and the per-site
heads are merged: the work is (sites x page size), however many alarms lie behind them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from api.inspector.filters import alarm_conditions, effective_sites, joined
from api.inspector.models import MAX_PAGE, AlarmFilter, AlarmRecord, Cursor, HistoryPage

Conn = psycopg.Connection[Any]

UNACKNOWLEDGED_AFTER = timedelta(seconds=60)

RECORD_COLUMNS = sql.SQL(
    """a.id, a.raised_at, a.site_id, s.uid AS site_uid, s.name AS site_name, a.kind,
       a.severity, a.state::text AS state, a.title, d.uid AS device_uid, a.occurrences,
       a.acknowledged_at, a.acknowledged_by, a.resolved_at, a.resolved_by, a.outcome, a.note,
       a.cleared_at, a.silenced,
       extract(epoch FROM least(a.acknowledged_at, a.resolved_at) - a.raised_at)::float8
           AS ack_s,
       extract(epoch FROM a.resolved_at - a.raised_at)::float8 AS resolve_s"""
)


def history_page(
    *,
    conn: Conn,
    scope: Sequence[int],
    spec: AlarmFilter,
    limit: int = 50,
    after: Cursor | None = None,
) -> HistoryPage:
    """One page of alarms in ``scope`` matching ``spec``, newest first, after ``after``."""
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
    sites = effective_sites(scope, spec.sites)
    if not sites:
        return HistoryPage(items=[], next_cursor=None)
    conditions, params = alarm_conditions(spec, "x")
    if after is not None:
        conditions.append(sql.SQL("(x.raised_at, x.id) < (%(after_at)s, %(after_id)s)"))
        params.update(after_at=after.raised_at, after_id=after.id)
    query = sql.SQL(
        """SELECT {columns}
           FROM (
               SELECT hit.id, hit.raised_at
               FROM unnest(%(sites)s::bigint[]) AS scope(site_id)
               CROSS JOIN LATERAL (
                   SELECT x.id, x.raised_at FROM alarms x
                   WHERE x.site_id = scope.site_id AND {conditions}
                   ORDER BY x.raised_at DESC, x.id DESC
                   LIMIT %(fetch)s
               ) hit
               ORDER BY hit.raised_at DESC, hit.id DESC
               LIMIT %(fetch)s
           ) page
           JOIN alarms a ON a.id = page.id
           JOIN sites s ON s.id = a.site_id
           LEFT JOIN devices d ON d.id = a.device_id
           ORDER BY a.raised_at DESC, a.id DESC"""
    ).format(columns=RECORD_COLUMNS, conditions=joined(conditions))
    params.update(sites=sites, fetch=limit + 1)
    with conn.cursor(row_factory=class_row(AlarmRecord)) as cur:
        rows = cur.execute(query, params).fetchall()
    items = rows[:limit]
    more = len(rows) > limit
    last = items[-1] if items else None
    token = Cursor(last.raised_at, last.id).encode() if more and last else None
    return HistoryPage(items=items, next_cursor=token)


def iter_history(
    *, conn: Conn, scope: Sequence[int], spec: AlarmFilter, page_size: int = MAX_PAGE
) -> Iterator[AlarmRecord]:
    """Every matching alarm, newest first, read page by page (for streamed exports): memory
    stays at one page, and no long transaction holds a snapshot open."""
    after: Cursor | None = None
    while True:
        page = history_page(conn=conn, scope=scope, spec=spec, limit=page_size, after=after)
        yield from page.items
        if page.next_cursor is None:
            return
        after = Cursor.decode(page.next_cursor)


def unacknowledged(
    *,
    conn: Conn,
    scope: Sequence[int],
    now: datetime,
    older_than: timedelta = UNACKNOWLEDGED_AFTER,
    limit: int = MAX_PAGE,
) -> list[AlarmRecord]:
    """Open alarms (not silenced) that nobody has acknowledged for longer than ``older_than``,
    oldest first: the ones an inspector asks about."""
    query = sql.SQL(
        """SELECT {columns}
           FROM alarms a
           JOIN sites s ON s.id = a.site_id
           LEFT JOIN devices d ON d.id = a.device_id
           WHERE a.state = 'open' AND NOT a.silenced AND a.acknowledged_at IS NULL
             AND a.raised_at < %(before)s AND a.site_id = ANY(%(sites)s::bigint[])
           ORDER BY a.raised_at, a.id
           LIMIT %(limit)s"""
    ).format(columns=RECORD_COLUMNS)
    params = {"before": now - older_than, "sites": sorted(set(scope)), "limit": limit}
    with conn.cursor(row_factory=class_row(AlarmRecord)) as cur:
        return cur.execute(query, params).fetchall()
