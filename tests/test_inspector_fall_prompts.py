"""Possible falls as inspectors see them over HTTP: scope, outcome filter, roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from tests.fix_api import World

T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def _prompt(conn, world: World, uid: str, device: str, minutes: int, outcome: str | None) -> None:
    impact = T0 + timedelta(minutes=minutes)
    alarm = world.alarms["fall_ha1"] if outcome not in (None, "cancelled") else None
    conn.execute(
        """INSERT INTO fall_prompts (uid, device_id, site_id, resident_id, impact_at, score,
                                     threshold, asked_at, deadline_at, outcome, closed_at,
                                     alarm_id)
           SELECT %s, d.id, d.site_id, d.resident_id, %s, 0.4, 0.317, %s, %s, %s, %s, %s
           FROM devices d WHERE d.id = %s""",
        (
            uid,
            impact,
            impact + timedelta(seconds=10),
            impact + timedelta(seconds=40),
            outcome,
            None if outcome is None else impact + timedelta(seconds=14),
            alarm,
            world.devices[device],
        ),
    )


def test_inspectors_see_the_possible_falls_of_their_sites_and_what_came_of_them(
    client, world: World, db_url
):
    with psycopg.connect(db_url) as conn:
        _prompt(conn, world, "p-ok", "b-ha-1", 1, "cancelled")
        _prompt(conn, world, "p-none", "b-ha-2", 2, "no_answer")
        _prompt(conn, world, "p-open", "b-ha-1", 3, None)
        _prompt(conn, world, "p-hb", "b-hb-1", 4, "help")
        conn.commit()
    response = client.get("/api/v1/inspector/fall-prompts", headers=world.headers("inspector_xihu"))
    assert response.status_code == 200, response.text
    rows = response.json()
    assert [(r["device_uid"], r["outcome"]) for r in rows] == [
        ("b-ha-1", "open"),
        ("b-ha-2", "no_answer"),
        ("b-ha-1", "cancelled"),
    ]
    cancelled = rows[-1]
    assert cancelled["resident_uid"] == "r-ha-1" and cancelled["alarm_id"] is None
    assert rows[1]["alarm_id"] == world.alarms["fall_ha1"]
    only = client.get(
        "/api/v1/inspector/fall-prompts",
        params={"outcomes": "cancelled"},
        headers=world.headers("admin"),
    ).json()
    assert [r["device_uid"] for r in only] == ["b-ha-1"]
    duty_b = client.get("/api/v1/inspector/fall-prompts", headers=world.headers("duty_b")).json()
    assert [r["outcome"] for r in duty_b] == ["help"]
    family = client.get("/api/v1/inspector/fall-prompts", headers=world.headers("family_1"))
    assert family.status_code == 403
    bad = client.get(
        "/api/v1/inspector/fall-prompts",
        params={"outcomes": "maybe"},
        headers=world.headers("admin"),
    )
    assert bad.status_code == 422
