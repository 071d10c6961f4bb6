"""Incident statistics for inspectors: how many alarms, how fast people answered, how they ended.

Measures, all from ``raised_at`` (when the platform raised the alarm) and over alarms that were
not silenced (maintenance and sensor tests are not incidents):

* time to acknowledge: until the first human response, the acknowledgement, or the resolution
  when someone resolved the alarm directly;
* time to resolve: until a person resolved it (auto-cleared alarms have none);
* unacknowledged > 60 s: nobody responded within 60 s; an alarm that cleared by itself within
  60 s does not count, one still open after 60 s does.

Months are calendar months in each site's own time zone.
"""

from __future__ import annotations

from alerts.models import AlarmKind
from dashboards.common import SITE, nest, severity_name
from dashboards.model import Dashboard, Panel, Row, Variable, thresholds

KIND = Variable(name="kind", label="Kind", values=tuple(k.value for k in AlarmKind))

# Every statistic reads the measures of the module docstring from the lateral "m", so each
# definition is written once per query.
_FROM = """
    FROM alarms a
    JOIN sites s ON s.id = a.site_id
    CROSS JOIN LATERAL (
        SELECT extract(epoch FROM coalesce(a.acknowledged_at, a.resolved_at) - a.raised_at)
                   AS ack_s,
               extract(epoch FROM a.resolved_at - a.raised_at) AS resolve_s,
               extract(epoch FROM coalesce(a.acknowledged_at, a.resolved_at, a.cleared_at, now())
                                  - a.raised_at) AS waited_s
    ) m
    WHERE $__timeFilter(a.raised_at) AND NOT a.silenced
      AND s.uid IN ($site) AND a.kind IN ($kind)
"""
_MONTH = "date_trunc('month', a.raised_at, s.timezone)"
_PERCENTILES = """
    percentile_cont(0.5) WITHIN GROUP (ORDER BY m.ack_s) AS "acknowledge p50",
    percentile_cont(0.9) WITHIN GROUP (ORDER BY m.ack_s) AS "acknowledge p90",
    percentile_cont(0.5) WITHIN GROUP (ORDER BY m.resolve_s) AS "resolve p50",
    percentile_cont(0.9) WITHIN GROUP (ORDER BY m.resolve_s) AS "resolve p90"
"""
_RESPONSE = f"""
    count(*) FILTER (WHERE m.waited_s > 60) AS "unacknowledged > 60 s",
    {nest(_PERCENTILES, 4)}
"""

_SECONDS = {
    name: {"unit": "s", "decimals": 0}
    for name in ("acknowledge p50", "acknowledge p90", "resolve p50", "resolve p90")
}
_LATE_RED = {
    "unacknowledged > 60 s": {
        "thresholds": thresholds((1, "red")),
        "custom.cellOptions": {"type": "color-text"},
    }
}

SUMMARY = Panel(
    title="Alarms and response times",
    type="stat",
    width=24,
    height=4,
    description="Over the time range: alarms raised, how many waited more than 60 s for a "
    "person, and the median (p50) and 90th percentile (p90) times to acknowledge and resolve.",
    columns={**_SECONDS, "unacknowledged > 60 s": {"thresholds": thresholds((1, "red"))}},
    thresholds=thresholds(base="blue"),
    sql=f"""
        SELECT count(*) AS alarms,
               {nest(_RESPONSE, 15)}
        {nest(_FROM, 8)}
    """,
)

PER_MONTH = Panel(
    title="Alarms per month by site",
    type="timeseries",
    format="time_series",
    display_name="${__field.labels.site}",
    custom={"drawStyle": "bars", "fillOpacity": 80, "stacking": {"mode": "normal"}},
    sql=f"""
        SELECT {_MONTH} AS "time",
               s.name AS site,
               count(*) AS alarms
        {nest(_FROM, 8)}
        GROUP BY 1, 2
        ORDER BY 1, 2
    """,
)

RESPONSE_PER_MONTH = Panel(
    title="Response times per month (p50 / p90)",
    type="timeseries",
    format="time_series",
    unit="s",
    custom={"drawStyle": "line", "pointSize": 8, "showPoints": "always"},
    sql=f"""
        SELECT {_MONTH} AS "time",
               {nest(_PERCENTILES, 15)}
        {nest(_FROM, 8)}
        GROUP BY 1
        ORDER BY 1
    """,
)

BY_MONTH_SITE_KIND = Panel(
    title="By month, site and kind",
    type="table",
    width=24,
    height=10,
    description="Counts, outcomes and response times per calendar month, site and alarm kind.",
    columns={**_SECONDS, **_LATE_RED},
    sql=f"""
        SELECT to_char({_MONTH} AT TIME ZONE s.timezone, 'YYYY-MM') AS month,
               s.name AS site,
               a.kind,
               count(*) AS alarms,
               count(*) FILTER (WHERE a.outcome = 'real') AS real,
               count(*) FILTER (WHERE a.outcome = 'false_alarm') AS "false alarm",
               count(*) FILTER (WHERE a.outcome = 'test') AS test,
               count(*) FILTER (WHERE a.state = 'cleared') AS "auto-cleared",
               {nest(_RESPONSE, 15)}
        {nest(_FROM, 8)}
        GROUP BY 1, 2, 3
        ORDER BY 1 DESC, 2, 3
    """,
)

BY_SITE = Panel(
    title="Response times by site",
    type="table",
    width=24,
    height=7,
    columns={**_SECONDS, **_LATE_RED},
    sql=f"""
        SELECT s.name AS site,
               count(*) AS alarms,
               count(*) FILTER (WHERE a.state IN ('open', 'acknowledged')) AS unresolved,
               {nest(_RESPONSE, 15)}
        {nest(_FROM, 8)}
        GROUP BY s.name
        ORDER BY "unacknowledged > 60 s" DESC, site
    """,
)

OUTCOMES = Panel(
    title="Outcomes",
    type="piechart",
    description="How the alarms of the time range ended: resolved by a person as real, false "
    "alarm or test; cleared by themselves; or not yet resolved.",
    sql=f"""
        SELECT count(*) FILTER (WHERE a.outcome = 'real') AS real,
               count(*) FILTER (WHERE a.outcome = 'false_alarm') AS "false alarm",
               count(*) FILTER (WHERE a.outcome = 'test') AS test,
               count(*) FILTER (WHERE a.state = 'cleared') AS "auto-cleared",
               count(*) FILTER (WHERE a.state IN ('open', 'acknowledged')) AS unresolved
        {nest(_FROM, 8)}
    """,
)

BY_KIND = Panel(
    title="Alarms by kind",
    type="piechart",
    options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": True}},
    sql=f"""
        SELECT a.kind, count(*) AS alarms
        {nest(_FROM, 8)}
        GROUP BY a.kind
        ORDER BY alarms DESC, a.kind
    """,
)

LATE_LIST = Panel(
    title="Alarms unacknowledged for more than 60 s",
    type="table",
    width=24,
    height=10,
    columns={"waited": {"unit": "s"}},
    sql=f"""
        SELECT a.raised_at AS raised,
               s.name AS site,
               a.title,
               a.kind,
               {severity_name("a.severity")} AS severity,
               a.state::text AS state,
               m.waited_s::bigint AS waited,
               a.acknowledged_by AS "acknowledged by",
               a.outcome
        {nest(_FROM, 8)}
          AND m.waited_s > 60
        ORDER BY a.raised_at DESC
        LIMIT 500
    """,
)

DASHBOARD = Dashboard(
    uid="anxin-incidents",
    title="Anxin · Incident statistics",
    description="For inspectors: alarms per month, site and kind; time to acknowledge and to "
    "resolve (p50/p90); alarms left unacknowledged for more than 60 s; outcomes.",
    variables=(SITE, KIND),
    time_from="now-90d",
    refresh="",
    rows=(
        Row("Summary", (SUMMARY,)),
        Row("Per month", (PER_MONTH, RESPONSE_PER_MONTH, BY_MONTH_SITE_KIND)),
        Row("Per site and outcome", (BY_SITE, OUTCOMES, BY_KIND)),
        Row("Late responses", (LATE_LIST,)),
    ),
)
