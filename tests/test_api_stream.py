"""The live stream: scoped, resumable with Last-Event-ID without loss or repeats, robust to a
lost notification and to ids that commit out of order."""

from __future__ import annotations

import httpx2 as httpx
import psycopg
import pytest

from api.stream import cursor as stream_cursor
from api.stream.cursor import Cursor, read
from tests.sse_client import SSEClient


def _event(db_url: str, alarm_id: int, action: str = "notified") -> int:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            """INSERT INTO alarm_events (alarm_id, actor, action) VALUES (%s, 'test', %s)
               RETURNING id""",
            (alarm_id, action),
        ).fetchone()
    return int(row[0])


def _last_event(db_url: str) -> int:
    with psycopg.connect(db_url, autocommit=True) as conn:
        return int(conn.execute("SELECT coalesce(max(id), 0) FROM alarm_events").fetchone()[0])


@pytest.fixture
def streams(live_api):
    opened: list[SSEClient] = []

    def open_stream(headers: dict[str, str], last_event_id: int | None = None) -> SSEClient:
        if last_event_id is not None:
            headers = {**headers, "Last-Event-ID": str(last_event_id)}
        client = SSEClient(f"{live_api}/api/v1/stream", headers)
        opened.append(client)
        return client

    yield open_stream
    for client in opened:
        client.close()


def test_stream_needs_a_credential(live_api, streams):
    assert streams({}).status == 401


def test_events_arrive_live_with_their_alarm_and_id(world, db_url, streams):
    stream = streams(world.headers("duty_a"))
    assert stream.status == 200
    stream.take(4)  # the seeded alarms were raised seconds ago: replayed once
    event_id = _event(db_url, world.alarms["gas_ha"], "escalated")
    (event,) = stream.take(1)
    assert event.id == event_id
    assert event.event == "alarm"
    assert event.data["action"] == "escalated"
    assert event.data["alarm"]["id"] == world.alarms["gas_ha"]
    assert event.data["alarm"]["site_uid"] == "ha"


def test_logging_out_everywhere_ends_an_open_stream(world, live_api, db_url, streams):
    """A revoked token (a lost phone, a family member removed) must not keep receiving alarms."""
    headers = world.headers("duty_a")
    stream = streams(headers)
    stream.take(4)
    assert not stream.ended.wait(1.5), "the stream ended on its own"
    response = httpx.post(f"{live_api}/api/v1/auth/revoke", headers=headers, timeout=10)
    assert response.status_code == 204
    assert stream.ended.wait(5), "the stream outlived the revoked token"
    _event(db_url, world.alarms["gas_ha"], "escalated")
    assert stream.nothing_for(1.0)
    assert streams(headers).status == 401


def test_each_stream_carries_only_its_scope(world, db_url, streams):
    family = streams(world.headers("family_1"), last_event_id=0)
    duty_b = streams(world.headers("duty_b"), last_event_id=0)
    assert {e.data["alarm"]["id"] for e in family.take(2)} == {
        world.alarms["fall_ha1"],
        world.alarms["battery_ha1"],
    }
    assert [e.data["alarm"]["id"] for e in duty_b.take(1)] == [world.alarms["fire_hb"]]
    _event(db_url, world.alarms["sos_ha2"])
    mine = _event(db_url, world.alarms["fall_ha1"])
    assert [e.id for e in family.take(1)] == [mine]
    assert family.nothing_for(1.0)
    assert duty_b.nothing_for(0.5)


def test_reconnecting_with_last_event_id_delivers_exactly_the_missed_events(world, db_url, streams):
    headers = world.headers("duty_a")
    first = streams(headers, last_event_id=_last_event(db_url))
    seen = _event(db_url, world.alarms["fall_ha1"])
    assert [e.id for e in first.take(1)] == [seen]
    first.close()

    missed = [
        _event(db_url, world.alarms["gas_ha"]),
        _event(db_url, world.alarms["sos_ha2"]),
    ]
    _event(db_url, world.alarms["fire_hb"])  # another site: never for duty_a
    missed.append(_event(db_url, world.alarms["battery_ha1"], "acknowledged"))

    second = streams(headers, last_event_id=seen)
    assert [e.id for e in second.take(3)] == missed
    live = _event(db_url, world.alarms["fall_ha1"])
    assert [e.id for e in second.take(1)] == [live]
    assert second.nothing_for(1.0)


def test_a_lost_notification_only_delays_the_event(world, db_url, streams):
    stream = streams(world.headers("admin"), last_event_id=_last_event(db_url))
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE alarm_events DISABLE TRIGGER alarm_events_notify")
    quiet = _event(db_url, world.alarms["gas_hh"])
    assert [e.id for e in stream.take(1, timeout_s=5)] == [quiet]


def test_an_event_that_commits_late_is_not_skipped(world, db_url, streams):
    stream = streams(world.headers("admin"), last_event_id=_last_event(db_url))
    slow = psycopg.connect(db_url)
    try:
        early_id = slow.execute(
            "INSERT INTO alarm_events (alarm_id, actor, action) VALUES (%s, 'slow', 'notified') "
            "RETURNING id",
            (world.alarms["fire_hb"],),
        ).fetchone()[0]
        later_id = _event(db_url, world.alarms["gas_ha"])
        assert later_id > early_id
        assert stream.nothing_for(1.0)
        slow.commit()
    finally:
        slow.close()
    assert [e.id for e in stream.take(2)] == [early_id, later_id]


def test_a_rolled_back_id_is_skipped_after_the_grace(world, db_url):
    from api.accounts import load_principal

    with psycopg.connect(db_url, autocommit=True) as conn:
        start = conn.execute("SELECT max(id) FROM alarm_events").fetchone()[0]
        with pytest.raises(RuntimeError):
            with conn.transaction():
                conn.execute(
                    "INSERT INTO alarm_events (alarm_id, actor, action) "
                    "VALUES (%s, 'x', 'notified')",
                    (world.alarms["gas_ha"],),
                )
                raise RuntimeError("roll back")
        after_gap = _event(db_url, world.alarms["gas_ha"])
        principal = load_principal(conn=conn, user_id=world.users["admin"])
        cursor = Cursor(last_id=start)
        assert read(conn=conn, principal=principal, cursor=cursor, now=100.0).events == []
        assert cursor.last_id == start
        waited = 100.0 + stream_cursor.GAP_GRACE_S + 0.1
        batch = read(conn=conn, principal=principal, cursor=cursor, now=waited)
        assert [e.event_id for e in batch.events] == [after_gap]
        assert cursor.last_id == after_gap
