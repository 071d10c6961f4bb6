"""Response-time statistics: counts and time to acknowledge / resolve (p50, p90) for the whole
scope and per site, per shift and per month.

Percentiles are exact and interpolated like ``percentile_cont`` (numpy's "linear" method),
over the alarms that got a response; alarms that cleared by themselves have no response time
and are only counted. Shift and month are taken in each site's own time zone.

Speed: the period is cut, per site, at local month boundaries. A month the period covers from
its start is read from the rollup (``rollup.refresh``) as far as the rollup reaches, and live
from ``alarms`` after that; a month the period enters mid-way, and every month when the request
filters by kind, severity, outcome or state or uses other shifts, is read live. Both give the
same cells, so the answer is the same either way; only the time differs (a year over 200
sites: seconds live, tens of milliseconds from the rollup).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import psycopg

from api.inspector import rollup
from api.inspector.filters import effective_sites
from api.inspector.models import AlarmFilter, ResponseStats, Statistics, StatsGroup
from api.inspector.rollup import Cell, Range
from api.inspector.shifts import DEFAULT_SHIFTS, Shift, check_shifts

Conn = psycopg.Connection[Any]


def statistics(
    *,
    conn: Conn,
    scope: Sequence[int],
    spec: AlarmFilter,
    now: datetime,
    shifts: Sequence[Shift] = DEFAULT_SHIFTS,
) -> Statistics:
    """Statistics of the alarms in ``scope`` matching ``spec`` and raised before ``now`` (the
    period is clipped to the alarms there are, so a period of centuries costs nothing); ``now``
    also decides whether an open alarm has waited over 60 s."""
    check_shifts(shifts)
    sites = _sites(conn, effective_sites(scope, spec.sites))
    until = min(spec.until or now, now)
    earliest = _earliest(conn, list(sites))
    since = None if earliest is None else max(spec.since or earliest, earliest)
    if not sites or since is None or since >= until:
        return _assemble([], sites, shifts)
    months = {site: _months(tz, since, until) for site, (_, _, tz) in sites.items()}
    stored: dict[tuple[int, date], rollup.Held] = {}
    live: list[Range] = []
    held: dict[tuple[int, date], rollup.Held] = {}
    if _rollup_applies(spec, shifts):
        first = min(m.month for ms in months.values() for m in ms)
        last = max(m.month for ms in months.values() for m in ms)
        held = rollup.rolled_months(conn=conn, sites=list(sites), first=first, last=last)
    for site, site_months in months.items():
        for m in site_months:
            rolled = held.get((site, m.month))
            if rolled is not None and m.start == m.month_start and rolled.through <= m.end:
                stored[(site, m.month)] = rolled
                live.append(Range(site, rolled.through, m.end))
            else:
                live.append(Range(site, m.start, m.end))
    cells = rollup.rolled_cells(conn=conn, months=stored) + rollup.live_cells(
        conn=conn,
        ranges=_merge(r for r in live if r.start < r.end),
        spec=spec,
        shifts=shifts,
        now=now,
    )
    return _assemble(cells, sites, shifts)


def _rollup_applies(spec: AlarmFilter, shifts: Sequence[Shift]) -> bool:
    """The rollup holds every alarm under the default shifts: it answers only such requests."""
    narrowed = spec.kinds or spec.severities or spec.outcomes or spec.states
    return not narrowed and tuple(shifts) == DEFAULT_SHIFTS


def _sites(conn: Conn, ids: list[int]) -> dict[int, tuple[str, str, ZoneInfo]]:
    rows = conn.execute(
        "SELECT id, uid, name, timezone FROM sites WHERE id = ANY(%s::bigint[])", (ids,)
    ).fetchall()
    return {int(i): (str(uid), str(name), ZoneInfo(str(tz))) for i, uid, name, tz in rows}


def _earliest(conn: Conn, sites: list[int]) -> datetime | None:
    """Where these sites' record begins: the first alarm, or the first month the rollup holds
    (one index step per site)."""
    row = conn.execute(
        """SELECT least(
               (SELECT min(first.raised_at) FROM unnest(%(sites)s::bigint[]) AS s(id)
                CROSS JOIN LATERAL (SELECT raised_at FROM alarms WHERE site_id = s.id
                                    ORDER BY raised_at LIMIT 1) first),
               (SELECT min(m.month::timestamp AT TIME ZONE s.timezone)
                FROM alarm_response_months m JOIN sites s ON s.id = m.site_id
                WHERE m.site_id = ANY(%(sites)s::bigint[])))""",
        {"sites": sites},
    ).fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class _Month:
    """A local month overlapping the period: ``start``/``end`` clipped to the period."""

    month: date
    month_start: datetime
    start: datetime
    end: datetime


def _months(tz: ZoneInfo, since: datetime, until: datetime) -> list[_Month]:
    """The local months of ``tz`` overlapping ``[since, until)``."""
    local = since.astimezone(tz)
    month = date(local.year, local.month, 1)
    out: list[_Month] = []
    while True:
        start = datetime(month.year, month.month, 1, tzinfo=tz)
        if start >= until:
            return out
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        end = datetime(following.year, following.month, 1, tzinfo=tz)
        out.append(_Month(month, start, max(start, since), min(end, until)))
        month = following


def _merge(ranges: Iterable[Range]) -> list[Range]:
    """Adjacent ranges of a site as one, so the live query walks each site's index once."""
    out: list[Range] = []
    for r in sorted(ranges, key=lambda r: (r.site_id, r.start)):
        if out and out[-1].site_id == r.site_id and out[-1].end >= r.start:
            out[-1] = Range(r.site_id, out[-1].start, max(out[-1].end, r.end))
        else:
            out.append(r)
    return out


_COUNTS = ("alarms", "acknowledged", "resolved", "false_alarms", "unacknowledged_60s")


def _assemble(
    cells: list[Cell], sites: dict[int, tuple[str, str, ZoneInfo]], shifts: Sequence[Shift]
) -> Statistics:
    """Figures in total and per site, shift and month; each group's response times are
    gathered from its cells once and only partitioned, never sorted."""
    counts = np.array([[getattr(c, n) for n in _COUNTS] for c in cells], dtype=np.int64)
    counts = counts.reshape(len(cells), len(_COUNTS))
    by_site: dict[int, list[int]] = defaultdict(list)
    by_shift: dict[str, list[int]] = defaultdict(list)
    by_month: dict[date, list[int]] = defaultdict(list)
    for i, cell in enumerate(cells):
        by_site[cell.site_id].append(i)
        by_shift[cell.shift].append(i)
        by_month[cell.month].append(i)

    def figures(group: StatsGroup, key: str, label: str, members: list[int]) -> ResponseStats:
        ack = _percentiles(_joined([cells[i].ack_s for i in members]))
        resolve = _percentiles(_joined([cells[i].resolve_s for i in members]))
        totals = counts[members].sum(axis=0)
        return ResponseStats(
            group=group,
            key=key,
            label=label,
            **{name: int(v) for name, v in zip(_COUNTS, totals, strict=True)},
            ack_p50_s=ack[0],
            ack_p90_s=ack[1],
            resolve_p50_s=resolve[0],
            resolve_p90_s=resolve[1],
        )

    labels = {s.name: s.label for s in shifts}
    return Statistics(
        total=figures(StatsGroup.TOTAL, "all", "all sites", list(range(len(cells)))),
        by_site=sorted(
            (
                figures(StatsGroup.SITE, sites[site][0], sites[site][1], members)
                for site, members in by_site.items()
            ),
            key=lambda r: r.key,
        ),
        by_shift=[
            figures(StatsGroup.SHIFT, s.name, labels[s.name], by_shift[s.name])
            for s in shifts
            if s.name in by_shift
        ],
        by_month=[
            figures(StatsGroup.MONTH, f"{m:%Y-%m}", f"{m:%Y-%m}", by_month[m])
            for m in sorted(by_month)
        ],
    )


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    """A fresh array (``_percentiles`` reorders it in place)."""
    return np.concatenate(arrays) if arrays else np.empty(0, np.float32)


_QUANTILES = np.array([0.5, 0.9])


def _percentiles(values: np.ndarray) -> tuple[float | None, float | None]:
    """p50 and p90 interpolated between the closest ranks (``percentile_cont``); reorders
    ``values`` in place."""
    n = values.size
    if n == 0:
        return None, None
    ranks = _QUANTILES * (n - 1)
    below = ranks.astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    values.partition(np.unique(np.concatenate([below, above])))
    low, high = values[below].astype(np.float64), values[above].astype(np.float64)
    p50, p90 = low + (high - low) * (ranks - below)
    return float(p50), float(p90)
