"""The inspector endpoints over HTTP: roles and scope, pagination, exports, rectification."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.inspector.export import HISTORY_COLUMNS, STATISTICS_COLUMNS
from tests.fix_api import VISIBLE, World


def _history_ids(client: TestClient, headers: dict[str, str], **params: object) -> list[int]:
    ids, cursor = [], None
    while True:
        query = {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/inspector/history", params=query, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        ids.extend(item["id"] for item in body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


@pytest.mark.parametrize("username", ["admin", "inspector_xihu", "duty_a", "duty_b"])
def test_each_reading_role_sees_the_history_of_its_sites_only(client, world: World, username):
    ids = _history_ids(client, world.headers(username))
    assert sorted(ids) == sorted(world.alarms[name] for name in VISIBLE[username])
    assert len(ids) == len(set(ids))


def test_family_members_are_refused_every_inspector_page(client, world: World):
    for path in ("history", "history.csv", "statistics", "devices", "rectifications"):
        response = client.get(f"/api/v1/inspector/{path}", headers=world.headers("family_1"))
        assert response.status_code == 403, path
    assert client.get("/api/v1/inspector/history").status_code == 401


def test_filters_narrow_within_the_scope_never_beyond(client, world: World):
    headers = world.headers("inspector_xihu")
    gas = _history_ids(client, headers, kinds="gas")
    assert sorted(gas) == sorted([world.alarms["gas_ha"], world.alarms["gas_hh"]])
    only_hb = _history_ids(client, headers, sites=world.sites["hb"])
    assert only_hb == []


def test_bad_query_parameters_are_refused_with_a_reason(client, world: World):
    headers = world.headers("admin")
    for params, hint in (
        ({"cursor": "not-a-cursor"}, "next_cursor"),
        ({"since": "0.5"}, "ISO 8601"),
        ({"severities": 9}, "severity"),
        ({"kind": "gas"}, "kind"),
        ({"limit": 0}, "limit"),
    ):
        response = client.get("/api/v1/inspector/history", params=params, headers=headers)
        assert response.status_code == 422, params
        assert hint in response.text


def test_history_csv_has_the_documented_columns_and_every_row(client, world: World):
    response = client.get("/api/v1/inspector/history.csv", headers=world.headers("inspector_xihu"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0].keys()) == HISTORY_COLUMNS
    assert sorted(int(r["id"]) for r in rows) == sorted(
        world.alarms[name] for name in VISIBLE["inspector_xihu"]
    )
    assert {r["site_uid"] for r in rows} == {"ha", "hh"}


def test_statistics_csv_and_json_agree(client, world: World):
    headers = world.headers("duty_a")
    body = client.get("/api/v1/inspector/statistics", headers=headers).json()
    assert body["total"]["alarms"] == len(VISIBLE["duty_a"])
    assert [s["key"] for s in body["by_site"]] == ["ha"]
    response = client.get("/api/v1/inspector/statistics.csv", headers=headers)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert tuple(rows[0].keys()) == STATISTICS_COLUMNS
    assert (rows[0]["group"], rows[0]["alarms"]) == ("total", str(len(VISIBLE["duty_a"])))


def test_pdf_exports_are_pdf_documents_even_with_chinese_names(client, world: World, db_url):
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE sites SET name = '西湖敬老院' WHERE uid = 'ha'")
    headers = world.headers("admin")
    for path in ("history.pdf", "statistics.pdf"):
        response = client.get(f"/api/v1/inspector/{path}", params={"kinds": "gas"}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/pdf"
        assert response.content.startswith(b"%PDF-")
        assert response.content.rstrip().endswith(b"%%EOF")


def test_unacknowledged_and_device_health_follow_the_scope(client, world: World):
    headers = world.headers("duty_b")
    waiting = client.get(
        "/api/v1/inspector/unacknowledged", params={"older_than_s": 0}, headers=headers
    ).json()
    assert [a["id"] for a in waiting] == [world.alarms["fire_hb"]]
    assert client.get("/api/v1/inspector/unacknowledged", headers=headers).json() == []
    devices = client.get("/api/v1/inspector/devices", headers=headers).json()
    assert sorted(d["device_uid"] for d in devices) == ["b-hb-1", "s-hb-1"]
    assert all("self_test_overdue" not in d["problems"] for d in devices)


def test_rectification_loop_over_http_with_each_role_in_its_part(client, world: World, db_url):
    inspector, duty, other_duty = (world.headers(u) for u in ("inspector_xihu", "duty_a", "duty_b"))
    base = "/api/v1/inspector/rectifications"
    created = client.post(
        base,
        json={
            "site_id": world.sites["ha"],
            "title": "Gas hose cracked",
            "location_id": world.locations["ha/kitchen"],
            "alarm_id": world.alarms["gas_ha"],
        },
        headers=inspector,
    )
    assert created.status_code == 201, created.text
    item = created.json()
    assert (item["state"], item["found_by"], item["location"]) == (
        "found",
        "inspector_xihu",
        "kitchen",
    )
    path = f"{base}/{item['id']}"
    deadline = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assigned = client.post(
        f"{path}/assign", json={"responsible": "Wang", "deadline": deadline}, headers=inspector
    )
    assert assigned.status_code == 200 and assigned.json()["overdue"] is True
    overdue = client.get(f"{base}/overdue", headers=duty).json()
    assert [r["id"] for r in overdue] == [item["id"]]
    assert client.get(path, headers=other_duty).status_code == 404
    assert client.post(f"{path}/rectify", json={"note": "x"}, headers=inspector).status_code == 403
    rectified = client.post(f"{path}/rectify", json={"note": "hose replaced"}, headers=duty)
    assert rectified.json()["state"] == "rectified" and rectified.json()["overdue"] is False
    refused = client.post(f"{path}/verify", json={"passed": True, "note": "ok"}, headers=duty)
    assert refused.status_code == 403
    verified = client.post(
        f"{path}/verify", json={"passed": True, "note": "checked"}, headers=inspector
    )
    assert verified.json()["state"] == "verified"
    again = client.post(f"{path}/rectify", json={"note": "again"}, headers=duty)
    assert again.status_code == 409 and "verified" in again.json()["detail"]
    states = client.get(base, params={"states": "verified"}, headers=inspector).json()
    assert [r["id"] for r in states] == [item["id"]]


def test_a_hazard_cannot_be_recorded_at_a_site_outside_the_scope(client, world: World):
    response = client.post(
        "/api/v1/inspector/rectifications",
        json={"site_id": world.sites["hb"], "title": "x"},
        headers=world.headers("inspector_xihu"),
    )
    assert response.status_code == 404
