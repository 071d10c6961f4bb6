"""Escalation policies (administrators) and silences (administrators and duty staff, for
their own sites) over the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

POLICY = {
    "site": "hh",
    "alarm_kind": "gas",
    "min_severity": 3,
    "reminder_s": 120,
    "note": "gas at home: family at once",
    "steps": [
        {"tier": 1, "delay_s": 0, "audiences": ["duty", "family"]},
        {"tier": 2, "delay_s": 60, "audiences": ["community"]},
    ],
}


def _later(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def test_admin_sets_a_site_policy_and_others_may_not(client, world):
    response = client.put(
        "/api/v1/escalation-policies", headers=world.headers("admin"), json=POLICY
    )
    assert response.status_code == 200, response.text
    assert response.json()["site_uid"] == "hh"
    assert [s["audiences"] for s in response.json()["steps"]] == [["duty", "family"], ["community"]]
    listed = client.get("/api/v1/escalation-policies", headers=world.headers("admin")).json()
    assert response.json() in listed
    assert any(p["site_uid"] is None for p in listed)  # the seeded defaults
    for username in ("duty_a", "inspector_xihu", "family_h"):
        headers = world.headers(username)
        assert (
            client.put("/api/v1/escalation-policies", headers=headers, json=POLICY).status_code
            == 403
        )
        assert client.get("/api/v1/escalation-policies", headers=headers).status_code == 403


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"steps": [{"tier": 1, "delay_s": 30, "audiences": ["duty"]}]}, "delay 0"),
        ({"steps": [{"tier": 1, "delay_s": 0, "audiences": ["mayor"]}]}, "unknown audiences"),
        ({"site": "nowhere"}, "no site"),
    ],
)
def test_bad_policies_are_refused_with_a_reason(client, world, change, says):
    response = client.put(
        "/api/v1/escalation-policies", headers=world.headers("admin"), json=POLICY | change
    )
    assert response.status_code in (404, 409)
    assert says in response.json()["detail"]


def test_duty_staff_silence_their_own_devices_only(client, world):
    headers = world.headers("duty_a")
    body = {"device": "g-ha-1", "reason": "sensor test", "ends_at": _later(1)}
    made = client.post("/api/v1/silences", headers=headers, json=body)
    assert made.status_code == 201, made.text
    assert made.json()["owner"] == "duty_a"
    other = client.post("/api/v1/silences", headers=headers, json=body | {"device": "s-hb-1"})
    assert other.status_code == 404
    room = client.post(
        "/api/v1/silences",
        headers=headers,
        json={"site": "ha", "location": "kitchen", "reason": "repair", "ends_at": _later(2)},
    )
    assert room.status_code == 201, room.text
    assert {s["id"] for s in client.get("/api/v1/silences", headers=headers).json()} == {
        made.json()["id"],
        room.json()["id"],
    }
    assert client.get("/api/v1/silences", headers=world.headers("duty_b")).json() == []
    assert (
        client.post(
            f"/api/v1/silences/{made.json()['id']}/end", headers=world.headers("duty_b")
        ).status_code
        == 404
    )
    assert (
        client.post(f"/api/v1/silences/{made.json()['id']}/end", headers=headers).status_code == 204
    )
    assert (
        client.post(f"/api/v1/silences/{made.json()['id']}/end", headers=headers).status_code == 409
    )


def test_silences_need_one_target_and_a_future_end(client, world):
    headers = world.headers("admin")
    both = {
        "device": "g-ha-1",
        "site": "ha",
        "location": "kitchen",
        "reason": "x",
        "ends_at": _later(1),
    }
    assert client.post("/api/v1/silences", headers=headers, json=both).status_code == 409
    past = {"device": "g-ha-1", "reason": "x", "ends_at": _later(-1)}
    assert client.post("/api/v1/silences", headers=headers, json=past).status_code == 409
    family = client.post(
        "/api/v1/silences",
        headers=world.headers("family_1"),
        json={"device": "b-ha-1", "reason": "x", "ends_at": _later(1)},
    )
    assert family.status_code == 403
