"""Every dashboard query runs against the real schema, with data, and measures what it says.

No Grafana runs here: ``dashboards.check`` expands each query the way Grafana would
(``dashboards.macros``) and runs it on a fresh migrated database filled through the registry and
alarm functions, with readings COPYed into the readings tables. The alarm functions stamp
transitions with the database clock, which a test cannot move, so ``_place`` then sets each
alarm's timestamps to the moments the case needs.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from alerts import lifecycle
from alerts.models import AlarmKind, Severity, Subject, Trigger
from alerts.store import clear_alarm, raise_alarm
from anxin import registry
from dashboards import facility, incidents, vitals
from dashboards.catalog import DASHBOARDS
from dashboards.check import QueryCheck, check_dashboard
from dashboards.cli import app
from dashboards.macros import interpolate
from dashboards.model import Panel

VARIABLE = ("__value", "__text")
RESPONSE = (
    "unacknowledged > 60 s",
    "acknowledge p50",
    "acknowledge p90",
    "resolve p50",
    "resolve p90",
)
ENVIRONMENT = ("time", "sensor")
EXPECTED_COLUMNS = {
    ("anxin-facility", "$site"): VARIABLE,
    ("anxin-facility", "Open alarms"): (
        "unacknowledged",
        "acknowledged",
        "critical, unacknowledged",
        "silenced",
    ),
    ("anxin-facility", "Open alarms by site, kind and severity"): (
        "site",
        "kind",
        "severity",
        "alarms",
        "unacknowledged",
        "oldest raised",
    ),
    ("anxin-facility", "Open alarms, most severe and oldest first"): (
        "raised",
        "site",
        "title",
        "kind",
        "severity",
        "state",
        "acknowledged by",
        "occurrences",
        "open for",
    ),
    ("anxin-facility", "Devices"): ("offline", "never seen", "low battery", "devices"),
    ("anxin-facility", "Device health"): (
        "site",
        "device",
        "kind",
        "where",
        "last heartbeat",
        "battery",
        "connection",
        "status",
    ),
    ("anxin-facility", "Combustible gas (%LEL)"): (*ENVIRONMENT, "lel_pct"),
    ("anxin-facility", "Carbon monoxide (ppm)"): (*ENVIRONMENT, "co_ppm"),
    ("anxin-facility", "Smoke obscuration (%/m)"): (*ENVIRONMENT, "smoke_obs"),
    ("anxin-facility", "Temperature (°C)"): (*ENVIRONMENT, "temp_c"),
    ("anxin-vitals", "$site"): VARIABLE,
    ("anxin-vitals", "$resident"): VARIABLE,
    ("anxin-vitals", "Latest reading"): (
        "resident",
        "site",
        "bracelet",
        "last reading",
        "heart rate",
        "SpO2",
        "motion g",
        "battery",
        "worn",
        "heart-rate limits",
        "SpO2 lower limit",
    ),
    ("anxin-vitals", "Alarms of these residents"): (
        "raised",
        "resident",
        "title",
        "kind",
        "severity",
        "state",
        "outcome",
    ),
    ("anxin-vitals", "Heart rate (bpm)"): ("time", "resident", "hr"),
    ("anxin-vitals", "SpO2 (%)"): ("time", "resident", "spo2"),
    ("anxin-vitals", "Activity (wrist motion, g)"): ("time", "resident", "motion_g"),
    ("anxin-incidents", "$site"): VARIABLE,
    ("anxin-incidents", "Alarms and response times"): ("alarms", *RESPONSE),
    ("anxin-incidents", "Alarms per month by site"): ("time", "site", "alarms"),
    ("anxin-incidents", "Response times per month (p50 / p90)"): ("time", *RESPONSE[1:]),
    ("anxin-incidents", "By month, site and kind"): (
        "month",
        "site",
        "kind",
        "alarms",
        "real",
        "false alarm",
        "test",
        "auto-cleared",
        *RESPONSE,
    ),
    ("anxin-incidents", "Response times by site"): ("site", "alarms", "unresolved", *RESPONSE),
    ("anxin-incidents", "Outcomes"): ("real", "false alarm", "test", "auto-cleared", "unresolved"),
    ("anxin-incidents", "Alarms by kind"): ("kind", "alarms"),
    ("anxin-incidents", "Alarms unacknowledged for more than 60 s"): (
        "raised",
        "site",
        "title",
        "kind",
        "severity",
        "state",
        "waited",
        "acknowledged by",
        "outcome",
    ),
}

# (acknowledged after, resolved after) in seconds of the alarms a person answered, except the
# silenced one: what the incident statistics must report.
ANSWERED = [(30, 45), (120, 200), (15, None), (20, 300)]


@pytest.fixture
def filled(conn: psycopg.Connection[tuple[object, ...]]) -> Iterator[psycopg.Connection]:
    _fill(conn, datetime.now(UTC))
    yield conn


def _fill(conn: psycopg.Connection, now: datetime) -> None:
    care, funeral = "care-1", "funeral-1"
    registry.create_site(conn=conn, uid=care, name="Sunrise Care Home", kind="care_home")
    registry.create_site(conn=conn, uid=funeral, name="West Hill Funeral Home", kind="funeral")
    room = registry.create_location(conn=conn, site_uid=care, name="Room 101")
    kitchen = registry.create_location(conn=conn, site_uid=care, name="Kitchen", kind="kitchen")
    cremator = registry.create_location(
        conn=conn, site_uid=funeral, name="Cremator room", kind="cremator_room"
    )
    li = registry.create_resident(conn=conn, uid="res-li", site_uid=care, name="Li Wei")
    ohara = registry.create_resident(
        conn=conn, uid="res-o'hara", site_uid=care, name="Mary O'Hara", location_id=room
    )

    def device(
        uid: str, site: str, kind: str, *, room: int | None = None, wearer: int | None = None
    ) -> int:
        issued = registry.create_device(
            conn=conn, uid=uid, site_uid=site, kind=kind, location_id=room, resident_id=wearer
        )
        return issued.device.id

    br_li = device("br-li", care, "bracelet", wearer=li)
    br_ohara = device("br-ohara", care, "bracelet", wearer=ohara)
    gas = device("gas-kitchen", care, "gas", room=kitchen)
    smoke = device("smoke-cremator", funeral, "smoke", room=cremator)
    device("co-101", care, "co", room=room)  # registered, never heard from

    steps = range(72)  # every 5 minutes over the last 6 hours
    with conn.cursor() as cur:
        with cur.copy(
            "COPY reading_vitals (ts, device_id, seq, hr, spo2, motion_g, battery, worn) FROM STDIN"
        ) as copy:
            for i in steps:
                ts = now - timedelta(minutes=5 * (72 - i))
                copy.write_row((ts, br_li, i, 70 + i % 15, 97, 0.02 * (i % 6), 80, True))
                if ts < now - timedelta(hours=2):
                    copy.write_row((ts, br_ohara, i, 88 + i % 5, 89 + i % 4, 0.01, 12, True))
        with cur.copy(
            "COPY reading_env (ts, device_id, seq, smoke_obs, temp_c, lel_pct, co_ppm, battery) "
            "FROM STDIN"
        ) as copy:
            for i in steps:
                ts = now - timedelta(minutes=5 * (72 - i))
                copy.write_row((ts, gas, i, None, 24.0, i * 0.5, 5 + i, 95))
                copy.write_row((ts, smoke, i, i / 6, 20 + i / 2, None, None, 90))
        with cur.copy(
            "COPY reading_heartbeat (ts, received_at, device_id, seq, interval_s, battery) "
            "FROM STDIN"
        ) as copy:
            for uid_id, ago, battery in (
                (br_li, timedelta(minutes=1), 80),
                (br_ohara, timedelta(hours=2), 12),
                (gas, timedelta(seconds=30), 95),
                (smoke, timedelta(seconds=30), 90),
            ):
                copy.write_row((now - ago, now - ago, uid_id, 10_000, 60, battery))
        cur.execute(
            "INSERT INTO device_presence (ts, device_id, state) VALUES (%s, %s, 'online'), "
            "(%s, %s, 'offline')",
            (now - timedelta(hours=6), br_li, now - timedelta(hours=2), br_ohara),
        )

    def alarm(kind: AlarmKind, severity: Severity, site: str, subject: Subject) -> int:
        trigger = Trigger(
            kind=kind,
            severity=severity,
            subject=subject,
            site_uid=site,
            title=f"{kind.value} test",
            at_ms=int(now.timestamp() * 1000),
        )
        return raise_alarm(conn=conn, trigger=trigger).alarm_id

    def place(alarm_id: int, raised_ago: timedelta, **after_s: float) -> None:
        """Set raised_at, and acknowledged/resolved/cleared_at ``after_s`` seconds after it."""
        raised = now - raised_ago
        conn.execute("UPDATE alarms SET raised_at = %s WHERE id = %s", (raised, alarm_id))
        for column, seconds in after_s.items():
            conn.execute(
                f"UPDATE alarms SET {column}_at = %s WHERE id = %s",
                (raised + timedelta(seconds=seconds), alarm_id),
            )

    def answer(
        alarm_id: int, ago: timedelta, ack: float, resolve: float | None, outcome: str
    ) -> None:
        lifecycle.acknowledge(conn=conn, alarm_id=alarm_id, by="Nurse Zhang", via="console")
        if resolve is None:
            place(alarm_id, ago, acknowledged=ack)
            return
        lifecycle.resolve(
            conn=conn, alarm_id=alarm_id, by="Nurse Zhang", outcome=outcome, note="checked"
        )
        place(alarm_id, ago, acknowledged=ack, resolved=resolve)

    def resident(resident_id: int) -> Subject:
        return Subject("resident", resident_id)

    (sos_ack, sos_res), (fall_ack, fall_res), (worn_ack, _), (fire_ack, fire_res) = ANSWERED
    sos = alarm(AlarmKind.SOS, Severity.CRITICAL, care, resident(li))
    answer(sos, timedelta(minutes=5), sos_ack, sos_res, "real")
    fall = alarm(AlarmKind.FALL, Severity.CRITICAL, care, resident(ohara))
    answer(fall, timedelta(minutes=10), fall_ack, fall_res, "false_alarm")
    worn = alarm(AlarmKind.NOT_WORN, Severity.WARNING, care, resident(li))
    answer(worn, timedelta(minutes=3), worn_ack, None, "")
    fire = alarm(AlarmKind.FIRE, Severity.ALARM, funeral, Subject("location", cremator))
    answer(fire, timedelta(days=40), fire_ack, fire_res, "test")

    gas_alarm = alarm(AlarmKind.GAS, Severity.CRITICAL, care, Subject("location", kitchen))
    place(gas_alarm, timedelta(seconds=10))  # open, not yet late
    hr_alarm = alarm(AlarmKind.VITALS_HR, Severity.ALARM, care, resident(ohara))
    place(hr_alarm, timedelta(seconds=90))  # open and late
    for kind, cleared_after in ((AlarmKind.DEVICE_OFFLINE, 30), (AlarmKind.LOW_BATTERY, 120)):
        subject = Subject("device", br_ohara)
        cleared = alarm(kind, Severity.WARNING, care, subject)
        clear_alarm(
            conn=conn,
            trigger=Trigger(
                kind=kind,
                severity=Severity.WARNING,
                subject=subject,
                site_uid=care,
                title="cleared",
                clear=True,
            ),
        )
        place(cleared, timedelta(minutes=20), cleared=cleared_after)
    co_alarm = alarm(AlarmKind.CO, Severity.ALARM, care, Subject("location", room))
    lifecycle.silence(conn=conn, alarm_id=co_alarm, by="Engineer Wu", reason="sensor test")
    place(co_alarm, timedelta(minutes=8))


def _results(conn: psycopg.Connection) -> dict[tuple[str, str], QueryCheck]:
    end = datetime.now(UTC)
    return {
        (r.dashboard, r.target): r
        for d in DASHBOARDS
        for r in check_dashboard(conn, d, end=end, timescaledb=False)
    }


def test_every_query_returns_its_columns_and_rows(filled):
    results = _results(filled)

    assert set(results) == set(EXPECTED_COLUMNS), "every panel needs an expectation here"
    for key, expected in EXPECTED_COLUMNS.items():
        result = results[key]
        assert result.problem is None, (key, result.problem)
        assert result.columns == expected, key
        assert result.rows >= 1, f"{key} returned no rows"


def test_every_query_runs_on_an_empty_database(conn):
    for key, result in _results(conn).items():
        assert result.problem is None, (key, result.problem)
        assert result.columns == EXPECTED_COLUMNS[key]


def _query(
    conn: psycopg.Connection,
    panel: Panel,
    *,
    site: Sequence[str] = ("care-1", "funeral-1"),
    kind: Sequence[str] | None = None,
    span: timedelta = timedelta(days=90),
) -> list[dict[str, Any]]:
    end = datetime.now(UTC)
    sql = interpolate(
        panel.query,
        start=end - span,
        end=end,
        interval="5m",
        variables={"site": site, "kind": kind or [k.value for k in AlarmKind]},
    )
    cur = conn.execute(sql)
    names = [c.name for c in cur.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _percentile(values: list[float], p: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    cuts = statistics.quantiles(values, n=10, method="inclusive")
    return cuts[int(p * 10) - 1]


def test_incident_statistics_measure_what_the_docs_say(filled):
    (summary,) = _query(filled, incidents.SUMMARY)

    acks = [float(a) for a, _ in ANSWERED]
    resolves = [float(r) for _, r in ANSWERED if r is not None]
    # 9 alarms, the silenced one left out; late: the fall (ack 120 s), the heart-rate alarm
    # open for 90 s, low battery cleared by itself after 120 s.
    assert summary["alarms"] == 8
    assert summary["unacknowledged > 60 s"] == 3
    assert summary["acknowledge p50"] == pytest.approx(_percentile(acks, 0.5))
    assert summary["acknowledge p90"] == pytest.approx(_percentile(acks, 0.9))
    assert summary["resolve p50"] == pytest.approx(_percentile(resolves, 0.5))
    assert summary["resolve p90"] == pytest.approx(_percentile(resolves, 0.9))

    late = _query(filled, incidents.LATE_LIST)
    assert sorted(row["kind"] for row in late) == ["fall", "low_battery", "vitals_hr"]

    (outcomes,) = _query(filled, incidents.OUTCOMES)
    assert outcomes == {
        "real": 1,
        "false alarm": 1,
        "test": 1,
        "auto-cleared": 2,
        "unresolved": 3,
    }


def test_months_are_counted_per_site(filled):
    rows = _query(filled, incidents.BY_MONTH_SITE_KIND)
    fire = [r for r in rows if r["kind"] == "fire"]
    assert [(r["site"], r["alarms"], r["test"]) for r in fire] == [("West Hill Funeral Home", 1, 1)]
    assert len({r["month"] for r in rows}) == 2  # the fire was 40 days ago

    per_month = _query(filled, incidents.PER_MONTH)
    assert sum(r["alarms"] for r in per_month) == 8


def test_variables_narrow_every_query(filled):
    only_funeral = _query(filled, incidents.SUMMARY, site=["funeral-1"])
    assert only_funeral[0]["alarms"] == 1
    only_sos = _query(filled, incidents.SUMMARY, kind=["sos"])
    assert only_sos[0]["alarms"] == 1

    by_kind = _query(filled, facility.OPEN_BY_KIND, site=["care-1"])
    assert {(r["kind"], r["severity"]) for r in by_kind} == {
        ("gas", "critical"),
        ("vitals_hr", "alarm"),
        ("not_worn", "warning"),
    }
    assert _query(filled, facility.OPEN_BY_KIND, site=[]) == []


def test_an_empty_selection_shows_nothing(filled):
    """Every panel honours its variables: with no site (and so no resident) chosen, nothing."""
    end = datetime.now(UTC)
    for dashboard in DASHBOARDS:
        empty = {v.name: () for v in dashboard.variables}
        for panel in dashboard.panels():
            sql = interpolate(
                panel.query,
                start=end - timedelta(days=90),
                end=end,
                interval="1h",
                variables=empty,
            )
            values = [v for row in filled.execute(sql).fetchall() for v in row]
            assert all(v in (0, None) for v in values), (dashboard.uid, panel.title, values)


def test_open_alarms_count_silenced_apart(filled):
    (counts,) = _query(filled, facility.OPEN_ALARMS)
    assert counts == {
        "unacknowledged": 2,
        "acknowledged": 1,
        "critical, unacknowledged": 1,
        "silenced": 1,
    }


def test_device_health_follows_the_offline_rule(filled):
    status = {
        r["device"]: (r["status"], r["battery"]) for r in _query(filled, facility.DEVICE_TABLE)
    }
    assert status == {
        "br-li": ("online", 80),
        "br-ohara": ("offline", 12),
        "gas-kitchen": ("online", 95),
        "smoke-cremator": ("online", 90),
        "co-101": ("never seen", None),
    }
    (counts,) = _query(filled, facility.DEVICE_COUNTS)
    assert counts == {"offline": 1, "never seen": 1, "low battery": 1, "devices": 5}


def test_a_quote_in_a_variable_value_is_a_literal(filled):
    """Mary O'Hara's uid carries a quote: Grafana doubles it, and so must the expansion."""
    end = datetime.now(UTC)
    sql = interpolate(
        vitals.HEART_RATE.query,
        start=end - timedelta(hours=24),
        end=end,
        interval="1h",
        variables={"site": ["care-1"], "resident": ["res-o'hara"]},
    )
    series = filled.execute(sql).fetchall()
    assert series
    assert {row[1] for row in series} == {"Mary O'Hara"}


def test_check_command_reports_every_query(filled, db_url, monkeypatch):
    monkeypatch.setenv("ANXIN_DATABASE_URL", db_url)
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    for panel in (facility.GAS, incidents.LATE_LIST):
        assert panel.title[:20] in result.output


def test_check_command_fails_on_a_broken_query(filled, db_url, monkeypatch):
    broken = replace(facility.GAS, sql="SELECT no_such_column FROM reading_env")
    dashboard = replace(
        facility.DASHBOARD, rows=(replace(facility.DASHBOARD.rows[0], panels=(broken,)),)
    )
    monkeypatch.setattr("dashboards.cli.DASHBOARDS", (dashboard,))
    monkeypatch.setenv("ANXIN_DATABASE_URL", db_url)
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 1
    assert "no_such_column" in result.output
