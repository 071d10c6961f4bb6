"""Acknowledge, resolve and silence: one winner, an audit row naming who and how, and the
escalation still to come cancelled."""

from __future__ import annotations

import threading

import psycopg
import pytest

from alerts import lifecycle
from alerts.models import Subject
from tests.alarm_setup import policy, raise_and_start, rows, site, staff, trigger, webhook


def _alarm(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        sid = site(conn)
        staff(conn, sid, "Duty", "duty", webhook("http://127.0.0.1:9/duty"))
        policy(conn, sid, [(1, 0, ["duty"]), (2, 60, ["supervisor"]), (3, 120, ["family"])])
        conn.commit()
        alarm_id, _ = raise_and_start(conn, trigger(Subject("resident", 1)))
    return alarm_id


def test_acknowledge_once_records_who_and_how_and_cancels_escalation(db_url):
    alarm_id = _alarm(db_url)
    with psycopg.connect(db_url) as conn:
        assert lifecycle.acknowledge(conn=conn, alarm_id=alarm_id, by="Li Na", via="console")
        assert not lifecycle.acknowledge(conn=conn, alarm_id=alarm_id, by="Wang", via="api")
        assert not lifecycle.acknowledge(conn=conn, alarm_id=9999, by="Wang", via="api")
        conn.commit()
    assert rows(db_url, "SELECT state, acknowledged_by FROM alarms") == [("acknowledged", "Li Na")]
    [(actor, detail)] = rows(
        db_url, "SELECT actor, detail FROM alarm_events WHERE action = 'acknowledged'"
    )
    assert actor == "Li Na" and detail["via"] == "console"
    assert detail["cancelled"] == ["tier 2", "tier 3"] and detail["after_s"] >= 0
    assert rows(db_url, "SELECT tier, state FROM escalation_timers ORDER BY tier") == [
        (1, "fired"),
        (2, "cancelled"),
        (3, "cancelled"),
    ]


def test_two_people_acknowledging_at_once_give_one_acknowledgement(db_url):
    alarm_id = _alarm(db_url)
    barrier = threading.Barrier(4)
    wins: list[bool] = []

    def person(name: str) -> None:
        with psycopg.connect(db_url) as conn:
            barrier.wait()
            wins.append(lifecycle.acknowledge(conn=conn, alarm_id=alarm_id, by=name, via="api"))
            conn.commit()

    threads = [threading.Thread(target=person, args=(f"p{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(wins) == [False, False, False, True]
    assert rows(db_url, "SELECT count(*) FROM alarm_events WHERE action = 'acknowledged'") == [(1,)]


def test_resolve_records_outcome_and_note_and_counts_as_acknowledgement(db_url):
    alarm_id = _alarm(db_url)
    with psycopg.connect(db_url) as conn:
        assert lifecycle.resolve(
            conn=conn, alarm_id=alarm_id, by="Li Na", outcome="false_alarm", note="pressed by hand"
        )
        assert not lifecycle.resolve(
            conn=conn, alarm_id=alarm_id, by="Li Na", outcome="real", note=None
        )
        conn.commit()
    [row] = rows(
        db_url,
        "SELECT state, resolved_by, outcome, note, acknowledged_by, acknowledged_at IS NOT NULL "
        "FROM alarms",
    )
    assert row == ("resolved", "Li Na", "false_alarm", "pressed by hand", "Li Na", True)
    [(detail,)] = rows(db_url, "SELECT detail FROM alarm_events WHERE action = 'resolved'")
    assert detail["was"] == "open" and detail["outcome"] == "false_alarm"
    assert detail["cancelled"] == ["tier 2", "tier 3"]


def test_resolving_an_acknowledged_alarm_keeps_who_acknowledged(db_url):
    alarm_id = _alarm(db_url)
    with psycopg.connect(db_url) as conn:
        lifecycle.acknowledge(conn=conn, alarm_id=alarm_id, by="Li Na", via="link")
        assert lifecycle.resolve(
            conn=conn, alarm_id=alarm_id, by="Wang", outcome="real", note="helped up", via="api"
        )
        conn.commit()
    assert rows(db_url, "SELECT acknowledged_by, resolved_by FROM alarms") == [("Li Na", "Wang")]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": " ", "outcome": "real"}, "name the person"),
        ({"by": "Li Na", "outcome": "maybe"}, "outcome must be one of"),
    ],
)
def test_bad_resolutions_are_refused_with_a_reason(db_url, kwargs, message):
    alarm_id = _alarm(db_url)
    with psycopg.connect(db_url) as conn, pytest.raises(ValueError, match=message):
        lifecycle.resolve(conn=conn, alarm_id=alarm_id, note=None, **kwargs)


def test_silencing_an_alarm_keeps_it_active_and_stops_its_escalation(db_url):
    alarm_id = _alarm(db_url)
    with psycopg.connect(db_url) as conn:
        with pytest.raises(ValueError, match="reason"):
            lifecycle.silence(conn=conn, alarm_id=alarm_id, by="Li Na", reason="")
        assert lifecycle.silence(conn=conn, alarm_id=alarm_id, by="Li Na", reason="sensor test")
        assert not lifecycle.silence(conn=conn, alarm_id=alarm_id, by="Li Na", reason="again")
        conn.commit()
    assert rows(db_url, "SELECT state, silenced FROM alarms") == [("open", True)]
    assert rows(db_url, "SELECT count(*) FROM escalation_timers WHERE state = 'pending'") == [(0,)]
    [(actor, detail)] = rows(
        db_url, "SELECT actor, detail FROM alarm_events WHERE action = 'silenced'"
    )
    assert actor == "Li Na" and detail["reason"] == "sensor test"
