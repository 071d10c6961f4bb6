"""Panel SQL is expanded as Grafana 11's PostgreSQL data source expands it.

Expected strings follow Grafana's pkg/tsdb/grafana-postgresql-datasource/macros.go and the
browser's quoting of multi-value variables.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from dashboards.macros import MacroError, interpolate, parse_interval, quote_values

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 1, 6, 0, 0, 500_000, tzinfo=UTC)


def _expand(sql: str, *, interval: str = "5m", timescaledb: bool = False, **variables) -> str:
    return interpolate(
        sql,
        start=START,
        end=END,
        interval=interval,
        variables=variables,
        timescaledb=timescaledb,
    )


def test_time_filter_uses_utc_rfc3339():
    beijing = timezone(timedelta(hours=8))
    sql = interpolate(
        "WHERE $__timeFilter(e.ts)",
        start=START.astimezone(beijing),
        end=END,
        interval="1m",
        variables={},
    )
    assert sql == "WHERE e.ts BETWEEN '2026-03-01T00:00:00Z' AND '2026-03-01T06:00:00.5Z'"
    assert _expand("$__timeFrom() $__timeTo()") == (
        "'2026-03-01T00:00:00Z' '2026-03-01T06:00:00.5Z'"
    )


def test_time_group_on_plain_postgresql_and_on_timescaledb():
    sql = "SELECT $__timeGroupAlias(e.ts, $__interval), 1"
    assert _expand(sql) == 'SELECT floor(extract(epoch from e.ts)/300)*300 AS "time", 1'
    assert _expand(sql, timescaledb=True) == "SELECT time_bucket('300.000s',e.ts) AS \"time\", 1"
    assert _expand("GROUP BY $__timeGroup(ts, '1h')") == (
        "GROUP BY floor(extract(epoch from ts)/3600)*3600"
    )


def test_time_group_followed_by_a_comma_gets_its_alias_as_in_old_grafana():
    assert _expand("SELECT $__timeGroup(ts, 1m), v") == (
        'SELECT floor(extract(epoch from ts)/60)*60 AS "time", v'
    )


def test_interval_numbers_are_written_like_go():
    assert _expand("$__timeGroup(ts, 500ms)") == "floor(extract(epoch from ts)/0.5)*0.5"
    assert _expand("$__timeGroup(ts, 30d)") == ("floor(extract(epoch from ts)/2.592e+06)*2.592e+06")
    assert _expand("$__interval_ms / $__interval", interval="2h") == "7200000 / 2h"


def test_multi_value_variables_become_quoted_literals():
    assert _expand("s.uid IN ($site)", site=["a", "b"]) == "s.uid IN ('a','b')"
    assert _expand("r.uid IN (${resident})", resident=["o'hara"]) == "r.uid IN ('o''hara')"
    assert _expand("s.uid IN ($site)", site=[]) == "s.uid IN ('')"
    assert quote_values(["x"]) == "'x'"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("WHERE s.uid IN ($nope)", "unknown variable or macro '\\$nope'"),
        ("WHERE $__unixEpochFilter(ts)", "unknown macro"),
        ("WHERE $__timeFilter()", "needs 1 argument"),
        ("SELECT $__timeGroup(ts)", "needs 2 argument"),
        ("SELECT $__timeGroup(ts, soon)", "not a Grafana interval"),
    ],
)
def test_what_is_not_reproduced_is_an_error(sql, message):
    with pytest.raises(MacroError, match=message):
        _expand(sql)


def test_parse_interval():
    assert parse_interval("'1h'") == timedelta(hours=1)
    assert parse_interval("90s") == timedelta(seconds=90)
    assert parse_interval("1w") == timedelta(days=7)
