"""Grafana's expansion of a panel's SQL, reproduced so that panels can run without Grafana.

Two steps, as in Grafana. First the browser replaces variables: ``$name`` and ``${name}`` of
the dashboard's variables, ``$__interval`` and ``$__interval_ms``; a multi-value variable becomes
its values as comma-separated SQL literals (``'a','b'``, quotes doubled), and an empty selection
becomes ``''`` (Grafana's "None"). Then the PostgreSQL data source expands its macros, mirrored
from Grafana 11's ``pkg/tsdb/grafana-postgresql-datasource/macros.go``:

==============================  ==================================================================
``$__timeFilter(col)``          ``col BETWEEN '<from>' AND '<to>'`` (RFC 3339, UTC)
``$__timeFrom()``, ``$__timeTo()``  ``'<from>'``, ``'<to>'``
``$__timeGroup(col, 5m)``       ``floor(extract(epoch from col)/300)*300``, or with the data
                                source's TimescaleDB option ``time_bucket('300.000s',col)``
``$__timeGroupAlias(col, 5m)``  the same, followed by ``AS "time"``
==============================  ==================================================================

Whatever still starts with ``$`` afterwards is an error: a panel relying on something not
reproduced here fails its test instead of passing untested.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")
_LEFTOVER = re.compile(r"\$\{?\w+")
_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w|y)\s*$")
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "y": 365 * 86400,
}


class MacroError(ValueError):
    """The SQL uses a macro or variable wrongly or one that is not reproduced here."""


def parse_interval(text: str) -> timedelta:
    """A Grafana interval such as ``30s``, ``5m``, ``1h``, ``7d`` (quotes allowed)."""
    match = _INTERVAL.match(text.strip("'"))
    if match is None:
        raise MacroError(f"not a Grafana interval: {text!r} (use e.g. 30s, 5m, 1h, 7d)")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def quote_values(values: Sequence[str]) -> str:
    """How Grafana writes a multi-value variable into SQL."""
    if not values:
        return "''"
    return ",".join("'" + value.replace("'", "''") + "'" for value in values)


def interpolate(
    sql: str,
    *,
    start: datetime,
    end: datetime,
    interval: str,
    variables: Mapping[str, Sequence[str]],
    timescaledb: bool = False,
) -> str:
    """The SQL Grafana sends to PostgreSQL for this time range, interval and variable values."""
    step = parse_interval(interval)
    builtins = {
        "__interval": interval,
        "__interval_ms": str(round(step.total_seconds() * 1000)),
    }

    def variable(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in builtins:
            return builtins[name]
        if name in variables:
            return quote_values(variables[name])
        return match.group(0)

    sql = _VARIABLE.sub(variable, sql)
    sql = _expand_macros(sql, start=start, end=end, timescaledb=timescaledb)
    leftover = _LEFTOVER.search(sql)
    if leftover:
        raise MacroError(f"unknown variable or macro {leftover.group(0)!r}")
    return sql


def _expand_macros(sql: str, *, start: datetime, end: datetime, timescaledb: bool) -> str:
    original = sql

    def expand(match: re.Match[str]) -> str:
        name = match.group(1)
        args = [arg.strip() for arg in match.group(2).split(",")]
        if name == "__timeGroup":
            after = original.find(match.group(0)) + len(match.group(0))
            if original[after : after + 1] == ",":
                name = "__timeGroupAlias"
        return _macro(name, args, start=start, end=end, timescaledb=timescaledb)

    return _MACRO.sub(expand, sql)


def _macro(name: str, args: list[str], *, start: datetime, end: datetime, timescaledb: bool) -> str:
    if name == "__timeFilter":
        _need(name, args, 1)
        return f"{args[0]} BETWEEN '{rfc3339(start)}' AND '{rfc3339(end)}'"
    if name == "__timeFrom":
        return f"'{rfc3339(start)}'"
    if name == "__timeTo":
        return f"'{rfc3339(end)}'"
    if name in ("__timeGroup", "__timeGroupAlias"):
        _need(name, args, 2)
        seconds = parse_interval(args[1]).total_seconds()
        if timescaledb:
            group = f"time_bucket('{seconds:.3f}s',{args[0]})"
        else:
            group = (
                f"floor(extract(epoch from {args[0]})/{_go_float(seconds)})*{_go_float(seconds)}"
            )
        return group + ' AS "time"' if name == "__timeGroupAlias" else group
    raise MacroError(f"unknown macro ${name}")


def _need(name: str, args: list[str], count: int) -> None:
    if len(args) < count or not all(args[:count]):
        raise MacroError(f"macro ${name} needs {count} argument(s), got {args!r}")


def rfc3339(moment: datetime) -> str:
    """Go's RFC3339Nano in UTC: no trailing zeros in the fraction, ``Z`` for the zone."""
    utc = moment.astimezone(UTC)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def _go_float(value: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent form from 1e6 or below 1e-4."""
    number = Decimal(repr(value)).normalize()
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    magnitude = len(digits) + exponent - 1
    if -4 <= magnitude < 6:
        return format(number, "f")
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'+' if magnitude >= 0 else '-'}{abs(magnitude):02d}"
