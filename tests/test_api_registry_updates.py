"""Changing the registry: administrators patch residents, contacts and staff; fields left out
keep their value, and a deactivated contact or staff member is no longer told about alarms."""

from __future__ import annotations

import psycopg
import pytest

from alerts.context import load_contexts
from alerts.models import AlarmKind, Subject
from tests.alarm_setup import policy, raise_and_start, rows, trigger, webhook

SON = {
    "site": "ha",
    "resident": "r-ha-2",
    "name": "Son",
    "kind": "family",
    "relation": "son",
    "priority": 2,
    "phone": "13800000001",
    "email": "son@example.org",
    "channels": webhook("http://127.0.0.1:9/son"),
}


def _create(client, world, path, body):
    response = client.post(path, headers=world.headers("admin"), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _patch(client, world, path, body, username="admin"):
    return client.patch(path, headers=world.headers(username), json=body)


def _contact(client, world, contact_id):
    listed = client.get("/api/v1/contacts", headers=world.headers("admin")).json()
    return next(c for c in listed if c["id"] == contact_id)


def test_a_patched_phone_is_read_back_and_the_rest_is_kept(client, world):
    created = _create(client, world, "/api/v1/contacts", SON)
    assert created["active"] is True
    path = f"/api/v1/contacts/{created['id']}"

    patched = _patch(client, world, path, {"phone": "13900000002"})
    assert patched.status_code == 200, patched.text
    assert _contact(client, world, created["id"]) == {**created, "phone": "13900000002"}

    off = _patch(client, world, path, {"active": False, "relation": "eldest son"})
    assert off.status_code == 200, off.text
    assert _contact(client, world, created["id"]) == {
        **created,
        "phone": "13900000002",
        "relation": "eldest son",
        "active": False,
    }


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"channels": [{"kind": "fax"}]}, "channel 0"),
        ({"priority": 0}, "priority"),
        ({"name": None}, "name cannot be null"),
        ({"kind": "manager"}, "kind"),
    ],
)
def test_an_invalid_contact_patch_is_a_422_and_changes_nothing(client, world, body, says):
    created = _create(client, world, "/api/v1/contacts", SON)
    response = _patch(client, world, f"/api/v1/contacts/{created['id']}", body)
    assert response.status_code == 422, response.text
    assert says in response.text
    assert _contact(client, world, created["id"]) == created


def test_resident_changes_reach_the_registry_and_the_alerts_context(client, world, db_url):
    path = "/api/v1/residents/r-ha-1"
    before = client.get(path, headers=world.headers("admin")).json()
    limits = {"hr_low": 50, "hr_high": 110, "spo2_low": 92, "birth_year": 1940}
    moved = _patch(client, world, path, {**limits, "location": "101"})
    assert moved.status_code == 200, moved.text
    renamed = _patch(client, world, path, {"name": "Zhang Wei"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == {
        **before,
        **limits,
        "name": "Zhang Wei",
        "location_id": world.locations["ha/101"],
        "location_name": "101",
    }
    assert client.get(path, headers=world.headers("admin")).json() == renamed.json()
    with psycopg.connect(db_url) as conn:
        bracelet = load_contexts(conn=conn)["b-ha-1"]
    assert (bracelet.hr_low, bracelet.hr_high, bracelet.spo2_low) == (50, 110, 92)
    assert bracelet.location_name == "101"

    cleared = _patch(client, world, path, {"location": None, "active": False}).json()
    assert (cleared["location_id"], cleared["location_name"]) == (None, None)
    assert cleared["active"] is False and cleared["birth_year"] == 1940


def test_a_location_must_be_at_the_residents_site(client, world):
    response = _patch(client, world, "/api/v1/residents/r-ha-1", {"location": "hall"})
    assert response.status_code == 404, response.text
    assert "no location 'hall' at site 'ha'" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"hr_low": 120, "hr_high": 60},
        {"hr_low": 80, "hr_high": 80},
        {"hr_low": 10},
        {"hr_high": 400},
        {"spo2_low": 101},
        {"birth_year": 1800},
        {"active": None},
        {"uid": "r-other"},
    ],
)
def test_invalid_resident_values_are_a_422_and_change_nothing(client, world, body):
    path = "/api/v1/residents/r-ha-1"
    before = client.get(path, headers=world.headers("admin")).json()
    response = _patch(client, world, path, body)
    assert response.status_code == 422, response.text
    assert client.get(path, headers=world.headers("admin")).json() == before


@pytest.mark.parametrize(
    ("body", "says"), [({"hr_low": 130}, "hr_high (120)"), ({"hr_high": 40}, "hr_low (45)")]
)
def test_a_limit_sent_alone_must_fit_the_stored_one(client, world, body, says):
    response = _patch(client, world, "/api/v1/residents/r-ha-1", body)
    assert response.status_code == 409, response.text
    assert says in response.json()["detail"]


def test_staff_changes_keep_what_was_not_sent(client, world):
    nurse = _create(
        client,
        world,
        "/api/v1/staff",
        {"site": "ha", "name": "Nurse Zhao", "role": "duty", "phone": "1", "email": "z@x.org"},
    )
    path = f"/api/v1/staff/{nurse['id']}"
    patched = _patch(client, world, path, {"role": "supervisor", "phone": "2"})
    assert patched.status_code == 200, patched.text
    [listed] = client.get("/api/v1/staff?site=ha", headers=world.headers("admin")).json()
    assert listed == {**nurse, "role": "supervisor", "phone": "2"}
    assert _patch(client, world, path, {"role": "cook"}).status_code == 422
    assert _patch(client, world, path, {"channels": None}).status_code == 422


@pytest.mark.parametrize(
    "path",
    ["/api/v1/residents/nobody", "/api/v1/contacts/99999", "/api/v1/staff/99999"],
)
def test_an_unknown_id_is_a_404(client, world, path):
    response = _patch(client, world, path, {"name": "Someone"})
    assert response.status_code == 404, response.text
    assert "no " in response.json()["detail"]


def test_a_non_administrator_changes_nothing(client, world):
    son = _create(client, world, "/api/v1/contacts", SON)
    for username in ("duty_a", "family_1"):
        response = _patch(
            client, world, f"/api/v1/contacts/{son['id']}", {"phone": "0"}, username=username
        )
        assert response.status_code == 403, response.text
    assert _contact(client, world, son["id"]) == son


def test_deactivated_contacts_and_staff_are_not_told_about_a_new_alarm(client, world, conn, db_url):
    _create(client, world, "/api/v1/contacts", {**SON, "name": "Daughter", "priority": 1})
    son = _create(client, world, "/api/v1/contacts", SON)
    for name in ("Nurse Li", "Nurse Wang"):
        _create(
            client,
            world,
            "/api/v1/staff",
            {"site": "ha", "name": name, "role": "duty", "channels": webhook("http://127.0.0.1:9")},
        )
    [wang] = [
        s
        for s in client.get("/api/v1/staff", headers=world.headers("admin")).json()
        if s["name"] == "Nurse Wang"
    ]
    assert _patch(client, world, f"/api/v1/contacts/{son['id']}", {"active": False}).is_success
    assert _patch(client, world, f"/api/v1/staff/{wang['id']}", {"active": False}).is_success
    policy(conn, world.sites["ha"], [(1, 0, ["duty", "family"])])

    fall = trigger(
        Subject("resident", world.residents["r-ha-2"]), kind=AlarmKind.FALL, site_uid="ha"
    )
    alarm_id, enqueued = raise_and_start(conn, fall)

    told = rows(
        db_url, "SELECT recipient->>'name' FROM notifications WHERE alarm_id = %s", alarm_id
    )
    assert sorted(name for (name,) in told) == ["Daughter", "Nurse Li"]
    assert enqueued == 2
