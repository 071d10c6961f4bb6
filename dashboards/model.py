"""Grafana dashboards as plain data, rendered to the JSON model Grafana stores.

Only what the Anxin dashboards use is modelled. Layout is computed: panels flow left to right
across Grafana's 24 columns under their row, so a definition says what to show, not where.
Every variable is multi-value: Grafana then quotes each value as an SQL literal, so panels can
write ``s.uid IN ($site)`` and a name with a quote in it cannot break the query.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

DATASOURCE_UID = "anxin-timescaledb"
DATASOURCE = {"type": "grafana-postgresql-datasource", "uid": DATASOURCE_UID}
GRID_COLUMNS = 24
SCHEMA_VERSION = 39

Format = Literal["time_series", "table"]


def thresholds(*steps: tuple[float, str], base: str = "green") -> dict[str, Any]:
    """Grafana's absolute thresholds: ``base`` below the first step, each step's colour above."""
    return {
        "mode": "absolute",
        "steps": [{"color": base, "value": None}]
        + [{"color": color, "value": value} for value, color in steps],
    }


@dataclass(frozen=True)
class Panel:
    """One panel and its SQL. ``type`` is Grafana's panel plugin id (timeseries, stat, table,
    piechart); ``columns`` sets per-column field properties (Grafana "overrides by name")."""

    title: str
    type: str
    sql: str
    format: Format = "table"
    description: str = ""
    width: int = 12
    height: int = 8
    unit: str | None = None
    thresholds: Mapping[str, Any] | None = None
    display_name: str | None = None
    custom: Mapping[str, Any] = field(default_factory=dict)
    options: Mapping[str, Any] = field(default_factory=dict)
    columns: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def query(self) -> str:
        """The SQL as Grafana shows it in the query editor: dedented, no outer blank lines."""
        return textwrap.dedent(self.sql).strip()


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Variable:
    """A dashboard variable: a query variable when ``sql`` is set (columns ``__value`` and
    ``__text``), else a custom variable over ``values``."""

    name: str
    label: str
    sql: str | None = None
    values: tuple[str, ...] = ()
    include_all: bool = True

    @property
    def query(self) -> str:
        return textwrap.dedent(self.sql or "").strip()


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    rows: tuple[Row, ...]
    variables: tuple[Variable, ...] = ()
    tags: tuple[str, ...] = ("anxin",)
    time_from: str = "now-24h"
    refresh: str = "1m"

    def panels(self) -> Iterator[Panel]:
        for row in self.rows:
            yield from row.panels

    def to_json(self) -> dict[str, Any]:
        """The dashboard JSON model, without ``id`` and ``version`` (Grafana assigns them)."""
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "editable": False,
            "graphTooltip": 1,
            "timezone": "browser",
            "schemaVersion": SCHEMA_VERSION,
            "time": {"from": self.time_from, "to": "now"},
            "refresh": self.refresh,
            "annotations": {"list": []},
            "links": [],
            "templating": {"list": [_variable_json(v) for v in self.variables]},
            "panels": _layout(self.rows),
        }


def _layout(rows: tuple[Row, ...]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    y = 0
    for row in rows:
        out.append(
            {
                "id": len(out) + 1,
                "type": "row",
                "title": row.title,
                "collapsed": False,
                "gridPos": {"x": 0, "y": y, "w": GRID_COLUMNS, "h": 1},
                "panels": [],
            }
        )
        y += 1
        x = line_height = 0
        for panel in row.panels:
            if x + panel.width > GRID_COLUMNS:
                y, x, line_height = y + line_height, 0, 0
            grid = {"x": x, "y": y, "w": panel.width, "h": panel.height}
            out.append(_panel_json(panel, len(out) + 1, grid))
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height
    return out


_TYPE_OPTIONS: dict[str, dict[str, Any]] = {
    "timeseries": {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    },
    "stat": {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value",
        "graphMode": "none",
        "textMode": "value_and_name",
        "justifyMode": "auto",
        "orientation": "auto",
    },
    "table": {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}},
    "piechart": {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "pieType": "pie",
        "legend": {"displayMode": "table", "placement": "right", "values": ["value", "percent"]},
        "tooltip": {"mode": "single"},
    },
}


def _panel_json(panel: Panel, panel_id: int, grid: dict[str, int]) -> dict[str, Any]:
    defaults: dict[str, Any] = {}
    if panel.unit:
        defaults["unit"] = panel.unit
    if panel.thresholds:
        defaults["thresholds"] = dict(panel.thresholds)
    if panel.display_name:
        defaults["displayName"] = panel.display_name
    custom = dict(panel.custom)
    if panel.type == "timeseries" and panel.thresholds:
        custom.setdefault("thresholdsStyle", {"mode": "dashed"})
    if custom:
        defaults["custom"] = custom
    overrides = [
        {
            "matcher": {"id": "byName", "options": name},
            "properties": [{"id": key, "value": value} for key, value in properties.items()],
        }
        for name, properties in panel.columns.items()
    ]
    return {
        "id": panel_id,
        "type": panel.type,
        "title": panel.title,
        "description": panel.description,
        "gridPos": grid,
        "datasource": DATASOURCE,
        "targets": [
            {
                "refId": "A",
                "datasource": DATASOURCE,
                "editorMode": "code",
                "format": panel.format,
                "rawQuery": True,
                "rawSql": panel.query,
            }
        ],
        "fieldConfig": {"defaults": defaults, "overrides": overrides},
        "options": {**_TYPE_OPTIONS.get(panel.type, {}), **panel.options},
    }


def _variable_json(variable: Variable) -> dict[str, Any]:
    common: dict[str, Any] = {
        "name": variable.name,
        "label": variable.label,
        "multi": True,
        "includeAll": variable.include_all,
        "hide": 0,
        "current": {"text": ["All"], "value": ["$__all"]} if variable.include_all else {},
    }
    if variable.sql is not None:
        return {
            **common,
            "type": "query",
            "datasource": DATASOURCE,
            "query": variable.query,
            "definition": variable.query,
            "refresh": 1,
            "sort": 0,
            "options": [],
        }
    return {
        **common,
        "type": "custom",
        "query": ",".join(variable.values),
        "options": [{"text": v, "value": v, "selected": False} for v in variable.values],
    }
