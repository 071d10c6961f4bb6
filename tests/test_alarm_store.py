"""Alarm creation is transactional: concurrent triggers for one subject and kind give one alarm."""

from __future__ import annotations

import threading

import psycopg

from alerts.models import AlarmKind, Severity, Subject, Trigger
from alerts.store import clear_alarm, raise_alarm
from anxin import registry

NOW = 1_795_000_000_000


def _site(db_url: str) -> str:
    with psycopg.connect(db_url) as conn:
        registry.create_site(conn=conn, uid="s1", name="Home", kind="care_home")
        conn.commit()
    return "s1"


def _trigger(severity: Severity = Severity.ALARM, at: int = NOW, clear: bool = False) -> Trigger:
    return Trigger(
        kind=AlarmKind.GAS,
        severity=severity,
        subject=Subject("location", 7),
        site_uid="s1",
        title="Gas 30 %LEL",
        evidence={"lel_pct": 30},
        at_ms=at,
        clear=clear,
    )


def test_concurrent_duplicate_triggers_make_one_alarm(db_url):
    _site(db_url)
    barrier = threading.Barrier(4)

    def worker() -> None:
        with psycopg.connect(db_url) as conn:
            barrier.wait()
            for i in range(25):
                raise_alarm(conn=conn, trigger=_trigger(at=NOW + i))
                conn.commit()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT occurrences, state FROM alarms").fetchall()
        events = dict(
            conn.execute("SELECT action, count(*) FROM alarm_events GROUP BY 1").fetchall()
        )
    assert rows == [(100, "open")]
    assert events == {"raised": 1, "repeated": 99}


def test_severity_rises_while_open_and_clear_keeps_the_record(db_url):
    _site(db_url)
    with psycopg.connect(db_url) as conn:
        first = raise_alarm(conn=conn, trigger=_trigger(Severity.ALARM))
        higher = raise_alarm(conn=conn, trigger=_trigger(Severity.CRITICAL, at=NOW + 1000))
        lower = raise_alarm(conn=conn, trigger=_trigger(Severity.ALARM, at=NOW + 2000))
        assert first.created and not higher.created and higher.severity_raised
        assert not lower.severity_raised
        assert clear_alarm(conn=conn, trigger=_trigger(clear=True, at=NOW + 3000)) == first.alarm_id
        again = raise_alarm(conn=conn, trigger=_trigger(at=NOW + 4000))
        conn.commit()
        rows = conn.execute("SELECT id, severity, state FROM alarms ORDER BY id").fetchall()
    assert again.created and again.alarm_id != first.alarm_id
    assert rows == [(first.alarm_id, 4, "cleared"), (again.alarm_id, 3, "open")]


def test_an_acknowledged_alarm_is_not_auto_cleared(db_url):
    _site(db_url)
    with psycopg.connect(db_url) as conn:
        alarm = raise_alarm(conn=conn, trigger=_trigger())
        conn.execute("UPDATE alarms SET state = 'acknowledged' WHERE id = %s", (alarm.alarm_id,))
        assert clear_alarm(conn=conn, trigger=_trigger(clear=True)) is None
        assert conn.execute("SELECT state FROM alarms").fetchone() == ("acknowledged",)
