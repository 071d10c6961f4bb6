"""Registry management: administrators write (devices get a password once), every role reads
only its scope, and CSV imports report bad rows without dropping the good ones."""

from __future__ import annotations

import psycopg
import pytest

from anxin.credentials import verify

WRITES = [
    ("post", "/api/v1/sites", {"uid": "new", "name": "New", "kind": "care_home"}),
    ("post", "/api/v1/sites/ha/locations", {"name": "201"}),
    ("post", "/api/v1/residents", {"uid": "r-new", "site": "ha", "name": "New"}),
    ("patch", "/api/v1/residents/r-ha-1", {"active": False}),
    ("post", "/api/v1/devices", {"uid": "d-new", "site": "ha", "kind": "smoke"}),
    ("patch", "/api/v1/devices/b-ha-1", {"active": False}),
    ("post", "/api/v1/devices/b-ha-1/credential", None),
    ("post", "/api/v1/contacts", {"site": "ha", "name": "Li Na", "kind": "family"}),
    ("patch", "/api/v1/contacts/1", {"phone": "0"}),
    ("post", "/api/v1/staff", {"site": "ha", "name": "Zhao", "role": "duty"}),
    ("patch", "/api/v1/staff/1", {"active": False}),
    ("post", "/api/v1/users", {"username": "u", "password": "x" * 12, "role": "admin"}),
]


@pytest.mark.parametrize("username", ["duty_a", "family_1", "inspector_xihu"])
def test_only_administrators_write_the_registry(client, world, username):
    headers = world.headers(username)
    for method, path, body in WRITES:
        response = client.request(method, path, headers=headers, json=body)
        assert response.status_code == 403, (method, path, response.text)


def _hash(db_url, uid):
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT mqtt_password_hash FROM devices WHERE uid = %s", (uid,)
        ).fetchone()[0]


def test_admin_builds_a_site_and_issues_then_rotates_a_device_credential(client, world, db_url):
    headers = world.headers("admin")
    site = client.post(
        "/api/v1/sites",
        headers=headers,
        json={"uid": "fh", "name": "Funeral Home", "kind": "funeral", "region": "Xihu/"},
    )
    assert site.status_code == 201, site.text
    assert site.json()["region"] == "Xihu"
    room = client.post(
        "/api/v1/sites/fh/locations",
        headers=headers,
        json={"name": "cold 1", "kind": "cold_storage"},
    )
    assert room.status_code == 201
    created = client.post(
        "/api/v1/devices",
        headers=headers,
        json={"uid": "t-fh-1", "site": "fh", "kind": "multi", "location": "cold 1"},
    )
    assert created.status_code == 201, created.text
    password = created.json()["mqtt_password"]
    assert created.json()["device"]["location_id"] == room.json()["id"]
    assert verify(password, _hash(db_url, "t-fh-1"))
    assert "mqtt_password" not in client.get("/api/v1/devices/t-fh-1", headers=headers).json()

    rotated = client.post("/api/v1/devices/t-fh-1/credential", headers=headers)
    assert rotated.status_code == 200
    assert not verify(password, _hash(db_url, "t-fh-1"))
    assert verify(rotated.json()["mqtt_password"], _hash(db_url, "t-fh-1"))

    off = client.patch("/api/v1/devices/t-fh-1", headers=headers, json={"active": False})
    assert off.json()["active"] is False
    inspector = client.get("/api/v1/sites", headers=world.headers("inspector_xihu")).json()
    assert "fh" in {s["uid"] for s in inspector}


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"uid": "x1", "site": "ha", "kind": "bracelet", "location": "kitchen"}, 409, "wearer"),
        ({"uid": "x2", "site": "ha", "kind": "gas", "resident": "r-ha-1"}, 409, "location"),
        ({"uid": "x3", "site": "ha", "kind": "bracelet", "resident": "r-hb-1"}, 409, "lives at"),
        ({"uid": "x4", "site": "nowhere", "kind": "smoke"}, 404, "no site"),
        ({"uid": "x5", "site": "ha", "kind": "smoke", "location": "attic"}, 404, "no location"),
        ({"uid": "b-ha-1", "site": "ha", "kind": "bracelet"}, 409, "already exists"),
        ({"uid": "bad uid!", "site": "ha", "kind": "smoke"}, 422, "uid"),
        ({"uid": "x6", "site": "ha", "kind": "toaster"}, 422, "kind"),
    ],
)
def test_device_registration_errors_say_what_to_fix(client, world, body, status, says):
    response = client.post("/api/v1/devices", headers=world.headers("admin"), json=body)
    assert response.status_code == status, response.text
    assert says in response.text


def test_contacts_and_staff_with_channels_and_shifts(client, world):
    headers = world.headers("admin")
    bad = client.post(
        "/api/v1/contacts",
        headers=headers,
        json={"site": "hh", "name": "Son", "kind": "family", "channels": [{"kind": "fax"}]},
    )
    assert bad.status_code == 422
    assert "channel 0" in bad.text
    son = client.post(
        "/api/v1/contacts",
        headers=headers,
        json={
            "site": "hh",
            "resident": "r-hh-1",
            "name": "Son",
            "kind": "family",
            "relation": "son",
            "channels": [{"kind": "email", "to": "son@example.org"}],
        },
    )
    assert son.status_code == 201, son.text
    assert son.json()["resident_uid"] == "r-hh-1"
    no_tier = client.post(
        "/api/v1/contacts", headers=headers, json={"site": "hh", "name": "W", "kind": "community"}
    )
    assert no_tier.status_code == 409
    nurse = client.post(
        "/api/v1/staff",
        headers=headers,
        json={"site": "ha", "name": "Nurse Zhao", "role": "duty", "channels": ["json://localhost"]},
    )
    assert nurse.status_code == 201, nurse.text
    shift = client.post(
        f"/api/v1/staff/{nurse.json()['id']}/shifts",
        headers=headers,
        json={
            "role": "duty",
            "starts_at": "2026-11-23T08:00:00+08:00",
            "ends_at": "2026-11-23T20:00:00+08:00",
        },
    )
    assert shift.status_code == 201, shift.text
    backwards = client.post(
        f"/api/v1/staff/{nurse.json()['id']}/shifts",
        headers=headers,
        json={
            "role": "duty",
            "starts_at": "2026-11-23T20:00:00+08:00",
            "ends_at": "2026-11-23T08:00:00+08:00",
        },
    )
    assert backwards.status_code == 409
    naive = client.post(
        f"/api/v1/staff/{nurse.json()['id']}/shifts",
        headers=headers,
        json={"role": "duty", "starts_at": "2026-11-23T08:00:00", "ends_at": "2026-11-23T20:00:00"},
    )
    assert naive.status_code == 422
    day = {"role": "duty", "starts_at": "2026-11-24T08:00:00Z", "ends_at": "2026-11-24T20:00:00Z"}
    assert client.post("/api/v1/staff/99999/shifts", headers=headers, json=day).status_code == 404
    duty = client.get("/api/v1/staff", headers=world.headers("duty_a")).json()
    assert [s["name"] for s in duty] == ["Nurse Zhao"]
    assert client.get("/api/v1/staff", headers=world.headers("duty_b")).json() == []
    assert client.get("/api/v1/contacts", headers=world.headers("family_h")).json() == []
    assert client.get("/api/v1/contacts", headers=world.headers("inspector_xihu")).json() == []


def _uids(client, world, username, path):
    response = client.get(path, headers=world.headers(username))
    assert response.status_code == 200
    return {item["uid"] for item in response.json()}


def test_reads_are_scoped(client, world):
    assert _uids(client, world, "duty_a", "/api/v1/devices") == {"b-ha-1", "b-ha-2", "g-ha-1"}
    assert _uids(client, world, "family_1", "/api/v1/devices") == {"b-ha-1"}
    assert _uids(client, world, "family_h", "/api/v1/devices") == {"b-hh-1", "g-hh-1"}
    assert _uids(client, world, "family_1", "/api/v1/residents") == {"r-ha-1"}
    assert _uids(client, world, "inspector_xihu", "/api/v1/residents") == {
        "r-ha-1",
        "r-ha-2",
        "r-hh-1",
    }
    assert _uids(client, world, "family_1", "/api/v1/sites") == {"ha"}
    assert _uids(client, world, "duty_b", "/api/v1/sites") == {"hb"}
    for username, path in (
        ("family_1", "/api/v1/residents/r-ha-2"),
        ("family_1", "/api/v1/devices/b-ha-2"),
        ("duty_a", "/api/v1/sites/hb"),
        ("duty_a", "/api/v1/sites/hb/locations"),
        ("inspector_xihu", "/api/v1/devices/s-hb-1"),
    ):
        assert client.get(path, headers=world.headers(username)).status_code == 404, path


def _upload(client, world, path, text, *, encoding="utf-8"):
    return client.post(
        path,
        headers=world.headers("admin"),
        files={"file": ("import.csv", text.encode(encoding), "text/csv")},
    )


def test_resident_import_reports_bad_rows_and_keeps_the_good(client, world, db_url):
    text = (
        "\ufeffuid,site,name,location,birth_year\n"
        "r-new-1,ha,Zhang Wei,101,1938\n"
        "r-new-2,ha,Wang Li,,19x8\n"
        "r-new-3,nowhere,Chen Jie,,\n"
        "r-ha-1,ha,Duplicate,,\n"
        "r-new-4,ha,Liu Yang,,1941,extra\n"
        "r-new-5,hb,Zhou Min,,\n"
    )
    response = _upload(client, world, "/api/v1/import/residents", text)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["created"] == 2
    errors = {e["row"]: e["error"] for e in report["errors"]}
    assert set(errors) == {3, 4, 5, 6}
    assert "birth_year" in errors[3]
    assert "no site 'nowhere'" in errors[4]
    assert "already exists" in errors[5]
    assert "more cells" in errors[6]
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            """SELECT uid, location_id IS NOT NULL FROM residents
               WHERE uid LIKE 'r-new-%' ORDER BY uid"""
        ).fetchall()
    assert rows == [("r-new-1", True), ("r-new-5", False)]


def test_device_import_returns_each_password_once(client, world, db_url):
    text = (
        "uid,site,kind,resident,location,heartbeat_interval_s\n"
        "b-imp-1,ha,bracelet,r-ha-2,,30\n"
        "g-imp-1,ha,gas,,kitchen,\n"
        "b-imp-2,ha,bracelet,,kitchen,\n"
    )
    report = _upload(client, world, "/api/v1/import/devices", text).json()
    assert report["created"] == 2
    assert [e["row"] for e in report["errors"]] == [4]
    credentials = {c["uid"]: c["mqtt_password"] for c in report["credentials"]}
    assert set(credentials) == {"b-imp-1", "g-imp-1"}
    assert verify(credentials["b-imp-1"], _hash(db_url, "b-imp-1"))


@pytest.mark.parametrize(
    ("text", "encoding", "says"),
    [
        ("uid,name\nr1,x\n", "utf-8", "missing: site"),
        ("uid,site,name,colour\nr1,ha,x,red\n", "utf-8", "unknown: colour"),
        ("uid,site,name\nr1,ha,\u5f20\u4e09\n", "gbk", "UTF-8"),
    ],
)
def test_an_unusable_file_is_a_400_that_says_why(client, world, text, encoding, says):
    response = _upload(client, world, "/api/v1/import/residents", text, encoding=encoding)
    assert response.status_code == 400
    assert says in response.json()["detail"]


def test_admin_manages_users_and_api_keys(client, world):
    headers = world.headers("admin")
    created = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "daughter",
            "password": "long enough pw",
            "role": "family",
            "residents": ["r-hh-1"],
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["residents"] == ["r-hh-1"]
    wrong_scope = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": "x",
            "password": "long enough pw",
            "role": "duty",
            "residents": ["r-hh-1"],
        },
    )
    assert wrong_scope.status_code == 409
    key = client.post(
        f"/api/v1/users/{created.json()['id']}/api-keys", headers=headers, json={"name": "app"}
    )
    assert key.status_code == 201
    me = client.get("/api/v1/auth/me", headers={"X-API-Key": key.json()["key"]})
    assert me.json()["username"] == "daughter"
    assert client.delete(f"/api/v1/api-keys/{key.json()['id']}", headers=headers).status_code == 204
    assert (
        client.get("/api/v1/auth/me", headers={"X-API-Key": key.json()["key"]}).status_code == 401
    )
    assert client.delete(f"/api/v1/api-keys/{key.json()['id']}", headers=headers).status_code == 404
    assert (
        client.post("/api/v1/users/99999/api-keys", headers=headers, json={"name": "a"}).status_code
        == 404
    )
