"""Facility overview: what is wrong right now at the chosen sites.

Open alarms (silenced ones counted apart), the health of every device judged the way the
offline rule judges it, and the gas, CO, smoke and heat readings over the chosen time range.
"""

from __future__ import annotations

from dashboards.common import RULES, SITE, nest, severity_name
from dashboards.model import Dashboard, Panel, Row, thresholds

_ACTIVE = "a.state IN ('open', 'acknowledged')"

OPEN_ALARMS = Panel(
    title="Open alarms",
    type="stat",
    width=24,
    height=4,
    description="Alarms nobody has resolved yet. Unacknowledged: nobody has taken them on. "
    "Silenced alarms (maintenance, sensor tests) are counted apart.",
    thresholds=thresholds((1, "red")),
    sql=f"""
        SELECT count(*) FILTER (WHERE a.state = 'open' AND NOT a.silenced) AS "unacknowledged",
               count(*) FILTER (WHERE a.state = 'acknowledged' AND NOT a.silenced)
                   AS "acknowledged",
               count(*) FILTER (WHERE a.state = 'open' AND NOT a.silenced AND a.severity = 4)
                   AS "critical, unacknowledged",
               count(*) FILTER (WHERE a.silenced) AS "silenced"
        FROM alarms a
        JOIN sites s ON s.id = a.site_id
        WHERE {_ACTIVE} AND s.uid IN ($site)
    """,
)

OPEN_BY_KIND = Panel(
    title="Open alarms by site, kind and severity",
    type="table",
    description="Open and acknowledged alarms, most severe first.",
    columns={"oldest raised": {"unit": "dateTimeAsLocal"}},
    sql=f"""
        SELECT s.name AS site,
               a.kind,
               {severity_name("a.severity")} AS severity,
               count(*) AS alarms,
               count(*) FILTER (WHERE a.state = 'open') AS unacknowledged,
               min(a.raised_at) AS "oldest raised"
        FROM alarms a
        JOIN sites s ON s.id = a.site_id
        WHERE {_ACTIVE} AND NOT a.silenced AND s.uid IN ($site)
        GROUP BY s.name, a.kind, a.severity
        ORDER BY a.severity DESC, alarms DESC, site, a.kind
    """,
)

OPEN_LIST = Panel(
    title="Open alarms, most severe and oldest first",
    type="table",
    columns={"open for": {"unit": "s"}},
    sql=f"""
        SELECT a.raised_at AS raised,
               s.name AS site,
               a.title,
               a.kind,
               {severity_name("a.severity")} AS severity,
               a.state::text AS state,
               a.acknowledged_by AS "acknowledged by",
               a.occurrences,
               extract(epoch FROM now() - a.raised_at)::bigint AS "open for"
        FROM alarms a
        JOIN sites s ON s.id = a.site_id
        WHERE {_ACTIVE} AND NOT a.silenced AND s.uid IN ($site)
        ORDER BY a.severity DESC, a.raised_at
        LIMIT 200
    """,
)

# One row per active device: its last heartbeat (server time) and battery, its last broker
# presence (last will / online message), and a status by the offline rule's own measure: silent
# for `offline_missed_heartbeats` of the interval the device announced (else the registry's).
# The LATERAL lookups read the unique (device_id, ts, seq) indexes backwards, one row each.
_MISSED = f"{RULES.offline_missed_heartbeats:g}"
_DEVICE_HEALTH = f"""
    SELECT s.name AS site,
           d.uid AS device,
           d.kind::text AS kind,
           coalesce(l.name, r.name, '') AS "where",
           hb.received_at AS "last heartbeat",
           hb.battery,
           p.state AS connection,
           CASE WHEN hb.received_at IS NULL THEN 'never seen'
                WHEN hb.received_at < now() - make_interval(secs => {_MISSED}
                         * coalesce(hb.interval_s, d.heartbeat_interval_s)) THEN 'offline'
                ELSE 'online' END AS status
    FROM devices d
    JOIN sites s ON s.id = d.site_id
    LEFT JOIN locations l ON l.id = d.location_id
    LEFT JOIN residents r ON r.id = d.resident_id
    LEFT JOIN LATERAL (
        SELECT h.received_at, h.battery, h.interval_s
        FROM reading_heartbeat h
        WHERE h.device_id = d.id
        ORDER BY h.ts DESC, h.seq DESC
        LIMIT 1
    ) hb ON true
    LEFT JOIN LATERAL (
        SELECT dp.state
        FROM device_presence dp
        WHERE dp.device_id = d.id
        ORDER BY dp.ts DESC
        LIMIT 1
    ) p ON true
    WHERE d.active AND s.uid IN ($site)
"""

DEVICE_COUNTS = Panel(
    title="Devices",
    type="stat",
    width=24,
    height=4,
    description=f"Active devices. Offline: silent for {RULES.offline_missed_heartbeats:g} "
    f"heartbeat intervals. Low battery: at or below {RULES.battery_low_pct} % in the last "
    "heartbeat.",
    thresholds=thresholds((1, "orange")),
    columns={"devices": {"color": {"mode": "fixed", "fixedColor": "text"}}},
    sql=f"""
        WITH health AS (
            {nest(_DEVICE_HEALTH, 12)}
        )
        SELECT count(*) FILTER (WHERE status = 'offline') AS offline,
               count(*) FILTER (WHERE status = 'never seen') AS "never seen",
               count(*) FILTER (WHERE battery <= {RULES.battery_low_pct}) AS "low battery",
               count(*) AS devices
        FROM health
    """,
)

DEVICE_TABLE = Panel(
    title="Device health",
    type="table",
    width=24,
    height=10,
    description="Offline and never-seen devices first, then by battery, lowest first.",
    columns={
        "battery": {
            "unit": "percent",
            "thresholds": thresholds((RULES.battery_low_pct + 0.5, "green"), base="red"),
            "custom.cellOptions": {"type": "color-text"},
        },
        "last heartbeat": {"unit": "dateTimeAsLocal"},
    },
    sql=f"""
        SELECT *
        FROM (
            {nest(_DEVICE_HEALTH, 12)}
        ) health
        ORDER BY status = 'online', battery NULLS LAST, site, device
        LIMIT 500
    """,
)


def _environment(title: str, column: str, unit: str, *levels: tuple[float, str]) -> Panel:
    """The highest value per time bucket of one environment reading, one series per sensor."""
    return Panel(
        title=title,
        type="timeseries",
        format="time_series",
        unit=unit,
        thresholds=thresholds(*levels),
        display_name="${__field.labels.sensor}",
        description="Highest reading per interval of each sensor; dashed lines: the alarm "
        "levels of the detection rules (platform defaults).",
        sql=f"""
            SELECT $__timeGroupAlias(e.ts, $__interval),
                   s.name || ' / ' || coalesce(l.name, d.uid) AS sensor,
                   max(e.{column}) AS "{column}"
            FROM reading_env e
            JOIN devices d ON d.id = e.device_id
            JOIN sites s ON s.id = d.site_id
            LEFT JOIN locations l ON l.id = d.location_id
            WHERE $__timeFilter(e.ts) AND e.{column} IS NOT NULL AND s.uid IN ($site)
            GROUP BY 1, 2
            ORDER BY 1, 2
        """,
    )


GAS = _environment(
    "Combustible gas (%LEL)",
    "lel_pct",
    "percent",
    (RULES.gas_low_lel_pct, "orange"),
    (RULES.gas_high_lel_pct, "red"),
)
CO = _environment(
    "Carbon monoxide (ppm)",
    "co_ppm",
    "ppm",
    (RULES.co_time_to_alarm[0][0], "orange"),
    (RULES.co_critical_ppm, "red"),
)
SMOKE = _environment(
    "Smoke obscuration (%/m)", "smoke_obs", "none", (RULES.smoke_alarm_pct_per_m, "red")
)
HEAT = _environment("Temperature (°C)", "temp_c", "celsius", (RULES.heat_fixed_c, "red"))

DASHBOARD = Dashboard(
    uid="anxin-facility",
    title="Anxin · Facility overview",
    description="Open alarms, device health and gas, CO, smoke and heat levels per site.",
    variables=(SITE,),
    rows=(
        Row("Open alarms", (OPEN_ALARMS, OPEN_BY_KIND, OPEN_LIST)),
        Row("Sensor health", (DEVICE_COUNTS, DEVICE_TABLE)),
        Row("Gas, CO, smoke and heat", (GAS, CO, SMOKE, HEAT)),
    ),
)
