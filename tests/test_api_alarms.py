"""Alarm routes: filters and pages, detail with evidence, audit trail and readings around the
alarm, and the transitions with their conflicts."""

from __future__ import annotations

from datetime import timedelta

import psycopg


def test_detail_has_evidence_events_and_the_devices_readings_within_five_minutes(
    client, world, db_url
):
    fall = world.alarms["fall_ha1"]
    device = world.devices["b-ha-1"]
    other_device = world.devices["b-ha-2"]
    with psycopg.connect(db_url, autocommit=True) as conn:
        first_seen = conn.execute(
            "SELECT first_seen_at FROM alarms WHERE id = %s", (fall,)
        ).fetchone()[0]
        for seq, (offset_s, dev) in enumerate(
            [
                (-400, device),
                (-240, device),
                (0, device),
                (200, device),
                (360, device),
                (10, other_device),
            ]
        ):
            conn.execute(
                "INSERT INTO reading_vitals (ts, device_id, seq, hr) VALUES (%s, %s, %s, %s)",
                (first_seen + timedelta(seconds=offset_s), dev, seq, 60 + seq),
            )
        conn.execute(
            """INSERT INTO device_event (ts, device_id, seq, event) VALUES (%s, %s, 1, 'sos')""",
            (first_seen, device),
        )
    detail = client.get(f"/api/v1/alarms/{fall}", headers=world.headers("duty_a"))
    assert detail.status_code == 200
    body = detail.json()
    assert body["evidence"] == {"test": "fall_ha1"}
    assert body["subject_name"] == "Resident r-ha-1"
    assert body["device_uid"] == "b-ha-1"
    assert [e["action"] for e in body["events"]] == ["raised"]
    assert [p["hr"] for p in body["readings"]["vitals"]] == [61, 62, 63]
    assert [e["event"] for e in body["readings"]["device_events"]] == ["sos"]
    assert body["readings"]["env"] == []


def test_acknowledge_then_resolve_records_who_and_how(client, world):
    headers = world.headers("duty_a")
    gas = world.alarms["gas_ha"]
    ack = client.post(f"/api/v1/alarms/{gas}/acknowledge", headers=headers)
    assert ack.status_code == 200, ack.text
    assert ack.json()["state"] == "acknowledged"
    again = client.post(f"/api/v1/alarms/{gas}/acknowledge", headers=headers)
    assert again.status_code == 409
    assert "acknowledged by duty_a" in again.json()["detail"]
    resolved = client.post(
        f"/api/v1/alarms/{gas}/resolve",
        headers=headers,
        json={"outcome": "false_alarm", "note": "cooking steam"},
    )
    assert resolved.status_code == 200
    assert resolved.json()["outcome"] == "false_alarm"
    assert resolved.json()["resolved_by"] == "duty_a"
    events = client.get(f"/api/v1/alarms/{gas}", headers=headers).json()["events"]
    assert [e["action"] for e in events] == ["raised", "acknowledged", "resolved"]
    assert events[1]["detail"]["via"] == "api"
    assert events[2]["detail"]["note"] == "cooking steam"
    closed = client.post(f"/api/v1/alarms/{gas}/resolve", headers=headers, json={"outcome": "real"})
    assert closed.status_code == 409


def test_silence_keeps_the_alarm_active(client, world):
    headers = world.headers("duty_b")
    fire = world.alarms["fire_hb"]
    response = client.post(
        f"/api/v1/alarms/{fire}/silence", headers=headers, json={"reason": "detector test"}
    )
    assert response.status_code == 200
    assert response.json()["silenced"] is True
    assert response.json()["state"] == "open"
    twice = client.post(
        f"/api/v1/alarms/{fire}/silence", headers=headers, json={"reason": "detector test"}
    )
    assert twice.status_code == 409


def test_bad_bodies_are_422_not_500(client, world):
    headers = world.headers("admin")
    fire = world.alarms["fire_hb"]
    for path, body in (
        ("resolve", {"outcome": "maybe"}),
        ("resolve", {}),
        ("silence", {"reason": "   "}),
        ("resolve", {"outcome": "real", "unknown": 1}),
    ):
        response = client.post(f"/api/v1/alarms/{fire}/{path}", headers=headers, json=body)
        assert response.status_code == 422, (path, body)
    assert client.get("/api/v1/alarms/not-a-number", headers=headers).status_code == 422
    assert client.get("/api/v1/alarms/999999", headers=headers).status_code == 404


def test_filters_and_keyset_pages(client, world):
    headers = world.headers("admin")
    gas = client.get("/api/v1/alarms?kind=gas", headers=headers).json()["items"]
    assert {a["id"] for a in gas} == {world.alarms["gas_ha"], world.alarms["gas_hh"]}
    at_ha = client.get("/api/v1/alarms?site=ha&kind=fall&kind=sos", headers=headers).json()
    assert {a["id"] for a in at_ha["items"]} == {world.alarms["fall_ha1"], world.alarms["sos_ha2"]}
    client.post(f"/api/v1/alarms/{world.alarms['sos_ha2']}/acknowledge", headers=headers)
    acked = client.get("/api/v1/alarms?state=acknowledged", headers=headers).json()["items"]
    assert [a["id"] for a in acked] == [world.alarms["sos_ha2"]]
    seen: list[int] = []
    cursor = None
    while True:
        query = "/api/v1/alarms?limit=3" + (f"&before={cursor}" if cursor else "")
        page = client.get(query, headers=headers).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_before"]
        if cursor is None:
            break
    assert seen == sorted(world.alarms.values(), reverse=True)
    future = client.get("/api/v1/alarms?since=2100-01-01T00:00:00Z", headers=headers).json()
    assert future["items"] == []
    assert client.get("/api/v1/alarms?min_severity=9", headers=headers).status_code == 422


def test_text_the_database_cannot_store_is_a_422(client, world):
    headers = world.headers("admin")
    assert client.get("/api/v1/staff?site=a%00b", headers=headers).status_code == 422
    fire = world.alarms["fire_hb"]
    response = client.post(
        f"/api/v1/alarms/{fire}/silence", headers=headers, json={"reason": "nul \u0000 here"}
    )
    assert response.status_code == 422
    assert client.get(f"/api/v1/alarms/{fire}", headers=headers).json()["silenced"] is False
    assert client.get("/api/v1/alarms?site=%00", headers=headers).status_code == 422
