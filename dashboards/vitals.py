"""Resident vitals: heart rate, SpO2 and activity of the chosen residents.

Readings are attributed to a resident through the bracelet bound to them now: the registry
keeps no history of bindings, so a bracelet passed on to someone else shows its earlier
readings under its new wearer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashboards.common import RULES, SITE, severity_name
from dashboards.model import Dashboard, Panel, Row, Variable, thresholds

RESIDENT = Variable(
    name="resident",
    label="Resident",
    include_all=False,
    sql="""
        SELECT r.uid AS __value, r.name || ' (' || r.uid || ')' AS __text
        FROM residents r
        JOIN sites s ON s.id = r.site_id
        WHERE r.active AND s.uid IN ($site)
        ORDER BY r.name, r.uid
    """,
)

LATEST = Panel(
    title="Latest reading",
    type="table",
    width=24,
    height=6,
    description="The last vitals reading of each chosen resident's bracelet, with their limits.",
    columns={
        "last reading": {"unit": "dateTimeAsLocal"},
        "battery": {"unit": "percent"},
        "SpO2": {"unit": "percent"},
    },
    sql="""
        SELECT r.name AS resident,
               s.name AS site,
               d.uid AS bracelet,
               v.ts AS "last reading",
               v.hr AS "heart rate",
               v.spo2 AS "SpO2",
               v.motion_g AS "motion g",
               v.battery,
               v.worn,
               r.hr_low || '-' || r.hr_high AS "heart-rate limits",
               r.spo2_low AS "SpO2 lower limit"
        FROM residents r
        JOIN sites s ON s.id = r.site_id
        JOIN devices d ON d.resident_id = r.id AND d.kind = 'bracelet' AND d.active
        LEFT JOIN LATERAL (
            SELECT rv.ts, rv.hr, rv.spo2, rv.motion_g, rv.battery, rv.worn
            FROM reading_vitals rv
            WHERE rv.device_id = d.id
            ORDER BY rv.ts DESC, rv.seq DESC
            LIMIT 1
        ) v ON true
        WHERE r.uid IN ($resident)
        ORDER BY r.name, d.uid
    """,
)

ALARMS = Panel(
    title="Alarms of these residents",
    type="table",
    width=24,
    height=6,
    description="Alarms about the chosen residents raised in the time range, newest first.",
    sql=f"""
        SELECT a.raised_at AS raised,
               r.name AS resident,
               a.title,
               a.kind,
               {severity_name("a.severity")} AS severity,
               a.state::text AS state,
               a.outcome
        FROM residents r
        JOIN alarms a ON a.site_id = r.site_id
                     AND a.subject_kind = 'resident' AND a.subject_id = r.id
        WHERE r.uid IN ($resident) AND $__timeFilter(a.raised_at)
        ORDER BY a.raised_at DESC
        LIMIT 200
    """,
)


def _vital(
    title: str,
    expression: str,
    column: str,
    unit: str,
    description: str,
    *,
    levels: Mapping[str, Any] | None = None,
    width: int = 12,
) -> Panel:
    """One series per resident of ``expression`` aggregated per time bucket."""
    return Panel(
        title=title,
        type="timeseries",
        format="time_series",
        unit=unit,
        display_name="${__field.labels.resident}",
        description=description,
        sql=f"""
            SELECT $__timeGroupAlias(v.ts, $__interval),
                   r.name AS resident,
                   {expression} AS "{column}"
            FROM reading_vitals v
            JOIN devices d ON d.id = v.device_id
            JOIN residents r ON r.id = d.resident_id
            WHERE $__timeFilter(v.ts) AND v.{column} IS NOT NULL AND r.uid IN ($resident)
            GROUP BY 1, 2
            ORDER BY 1, 2
        """,
        thresholds=levels,
        width=width,
    )


HEART_RATE = _vital(
    "Heart rate (bpm)",
    "avg(v.hr)",
    "hr",
    "none",
    "Mean heart rate per interval.",
)
SPO2 = _vital(
    "SpO2 (%)",
    "min(v.spo2)",
    "spo2",
    "percent",
    "Lowest blood-oxygen saturation per interval: a dip matters more than the mean.",
)
ACTIVITY = _vital(
    "Activity (wrist motion, g)",
    "avg(v.motion_g)",
    "motion_g",
    "none",
    f"Mean wrist motion per interval; above {RULES.activity_motion_g} g (dashed) the wearer "
    "counts as active for the living-alone rules.",
    levels=thresholds((RULES.activity_motion_g, "blue"), base="transparent"),
    width=24,
)

DASHBOARD = Dashboard(
    uid="anxin-vitals",
    title="Anxin · Resident vitals",
    description="Heart rate, SpO2 and activity of the chosen residents, with their alarms.",
    variables=(SITE, RESIDENT),
    rows=(
        Row("Now", (LATEST, ALARMS)),
        Row("Over time", (HEART_RATE, SPO2, ACTIVITY)),
    ),
)
