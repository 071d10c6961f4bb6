"""Each role sees exactly its scope and is refused the rest: objects outside it are 404, actions
its role may not take are 403."""

from __future__ import annotations

import pytest

from tests.fix_api import ALARMS, USERS, VISIBLE


def _visible(client, world, username):
    response = client.get("/api/v1/alarms", headers=world.headers(username))
    assert response.status_code == 200, response.text
    names = {v: k for k, v in world.alarms.items()}
    return {names[item["id"]] for item in response.json()["items"]}


@pytest.mark.parametrize("username", sorted(USERS))
def test_each_role_lists_exactly_the_alarms_in_its_scope(client, world, username):
    assert _visible(client, world, username) == VISIBLE[username]


@pytest.mark.parametrize("username", sorted(USERS))
def test_alarms_outside_the_scope_are_not_found(client, world, username):
    headers = world.headers(username)
    for name in ALARMS:
        status = client.get(f"/api/v1/alarms/{world.alarms[name]}", headers=headers).status_code
        assert status == (200 if name in VISIBLE[username] else 404), name


def test_duty_staff_cannot_act_on_another_sites_alarm(client, world):
    headers = world.headers("duty_a")
    fire = world.alarms["fire_hb"]
    assert client.post(f"/api/v1/alarms/{fire}/acknowledge", headers=headers).status_code == 404
    resolve = client.post(
        f"/api/v1/alarms/{fire}/resolve", headers=headers, json={"outcome": "real"}
    )
    assert resolve.status_code == 404
    assert (
        client.get(f"/api/v1/alarms/{fire}", headers=world.headers("duty_b")).json()["state"]
        == "open"
    )


def test_inspectors_are_read_only(client, world):
    headers = world.headers("inspector_xihu")
    fall = world.alarms["fall_ha1"]
    assert client.get(f"/api/v1/alarms/{fall}", headers=headers).status_code == 200
    assert client.post(f"/api/v1/alarms/{fall}/acknowledge", headers=headers).status_code == 403
    for path, body in (("resolve", {"outcome": "real"}), ("silence", {"reason": "x"})):
        response = client.post(f"/api/v1/alarms/{fall}/{path}", headers=headers, json=body)
        assert response.status_code == 403, path


def test_family_may_acknowledge_their_relative_but_not_resolve_or_silence(client, world):
    headers = world.headers("family_1")
    fall = world.alarms["fall_ha1"]
    resolve = client.post(
        f"/api/v1/alarms/{fall}/resolve", headers=headers, json={"outcome": "false_alarm"}
    )
    assert resolve.status_code == 403
    silence = client.post(f"/api/v1/alarms/{fall}/silence", headers=headers, json={"reason": "x"})
    assert silence.status_code == 403
    ack = client.post(f"/api/v1/alarms/{fall}/acknowledge", headers=headers)
    assert ack.status_code == 200
    assert ack.json()["acknowledged_by"] == "family_1"
    other = world.alarms["sos_ha2"]
    assert client.post(f"/api/v1/alarms/{other}/acknowledge", headers=headers).status_code == 404


def test_family_do_not_see_who_else_was_notified(client, world, db_url):
    import psycopg
    from psycopg.types.json import Jsonb

    fall = world.alarms["fall_ha1"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            """INSERT INTO alarm_events (alarm_id, actor, action, detail)
               VALUES (%s, 'delivery', 'notified', %s)""",
            (fall, Jsonb({"to": "nurse@example.org"})),
        )
    family = client.get(f"/api/v1/alarms/{fall}", headers=world.headers("family_1")).json()
    duty = client.get(f"/api/v1/alarms/{fall}", headers=world.headers("duty_a")).json()
    assert [e["action"] for e in family["events"]] == ["raised", "notified"]
    assert all(e["detail"] == {} for e in family["events"])
    assert duty["events"][-1]["detail"] == {"to": "nurse@example.org"}


def test_list_filters_cannot_widen_the_scope(client, world):
    response = client.get("/api/v1/alarms?site=hb", headers=world.headers("duty_a"))
    assert response.json()["items"] == []
