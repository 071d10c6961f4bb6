"""The console's pages through the TestClient: rendering, scope, forms and CSRF, languages.
Cheap to run and to read when something breaks; the browser tests cover the live parts."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from api.console import csrf
from api.console.i18n import MESSAGES_DIR, negotiate
from api.console.render import TEMPLATES_DIR
from api.deps import SESSION_COOKIE
from api.inspector import rectification
from api.inspector.models import RectificationCreate
from tests.fix_api import PASSWORD, SECRET, VISIBLE
from tests.fix_inspector import add_alarm

HOMES = {
    "admin": "/console/admin/sites",
    "duty_a": "/console/board",
    "family_1": "/console/residents/r-ha-1",
    "inspector_xihu": "/console/history",
}


def log_in(client, username: str) -> str:
    """Log in through the console's form; returns the page the browser lands on."""
    client.cookies.clear()
    response = client.post(
        "/console/login", data={"username": username, "password": PASSWORD}, follow_redirects=True
    )
    assert response.status_code == 200, response.text
    return str(response.url.path)


def token_of(client) -> str:
    return csrf.token_for(client.cookies[SESSION_COOKIE], SECRET)


def alarm_state(db_url: str, alarm_id: int) -> tuple[object, ...]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT state::text, acknowledged_by, outcome, note FROM alarms WHERE id = %s",
            (alarm_id,),
        ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.parametrize("username", sorted(HOMES))
def test_each_role_lands_on_its_own_page(client, world, username):
    assert log_in(client, username) == HOMES[username]


def test_a_page_without_login_leads_to_the_login_page_and_back(client, world):
    response = client.get("/console/history?kind=fall", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=%2Fconsole%2Fhistory%3Fkind%3Dfall"
    landed = client.post(
        "/console/login",
        data={"username": "inspector_xihu", "password": PASSWORD, "next": "/console/history"},
    )
    assert landed.url.path == "/console/history"


def test_a_wrong_password_is_refused_with_a_next_step(client, world):
    response = client.post(
        "/console/login",
        data={"username": "duty_a", "password": "nope"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 401
    assert "ask an administrator" in response.text
    assert SESSION_COOKIE not in client.cookies


def test_logging_in_again_over_an_old_session_works(client, world):
    log_in(client, "duty_a")
    page = client.get("/console/login").text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert token is not None
    data = {"username": "admin", "password": PASSWORD, "csrf_token": token.group(1)}
    assert client.post("/console/login", data=data).url.path == "/console/admin/sites"


def test_login_never_redirects_to_another_site(client, world):
    response = client.post(
        "/console/login",
        data={"username": "duty_a", "password": PASSWORD, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console/board"


@pytest.mark.parametrize("username", ["duty_a", "duty_b", "admin"])
def test_the_board_shows_exactly_the_alarms_in_scope(client, world, username):
    log_in(client, username)
    page = client.get("/console/board").text
    shown = {name for name, alarm_id in world.alarms.items() if f'id="alarm-{alarm_id}"' in page}
    assert shown == VISIBLE[username]


def test_the_board_shows_residents_and_devices_of_each_site(client, world):
    log_in(client, "duty_a")
    page = client.get("/console/board").text
    assert 'id="site-ha"' in page and 'id="site-hb"' not in page
    assert "Resident r-ha-2" in page and "Resident r-hb-1" not in page
    assert "g-ha-1" in page and "s-hb-1" not in page


@pytest.mark.parametrize(
    ("username", "path", "status"),
    [
        ("family_1", "/console/residents/r-ha-1", 200),
        ("family_1", "/console/residents/r-ha-2", 404),
        ("family_1", "/console/residents/r-hh-1", 404),
        ("family_1", "/console/board", 403),
        ("family_1", "/console/history", 403),
        ("family_1", "/console/admin/devices", 403),
        ("duty_a", "/console/residents/r-hb-1", 404),
        ("duty_a", "/console/admin/sites", 403),
        ("inspector_xihu", "/console/board", 403),
        ("inspector_xihu", "/console/residents/r-hh-1", 200),
        ("inspector_xihu", "/console/residents/r-hb-1", 404),
    ],
)
def test_pages_outside_the_scope_or_role_are_refused(client, world, username, path, status):
    log_in(client, username)
    response = client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    if status == 404:
        assert f"Resident {path.rsplit('/', 1)[1]}" not in response.text


def test_an_alarm_outside_the_scope_is_not_found(client, world):
    log_in(client, "family_1")
    assert client.get(f"/console/alarms/{world.alarms['fall_ha1']}").status_code == 200
    assert client.get(f"/console/alarms/{world.alarms['sos_ha2']}").status_code == 404


def test_the_family_page_shows_only_their_relatives_alarms(client, world):
    log_in(client, "family_1")
    page = client.get("/console/residents/r-ha-1").text
    shown = {
        name for name, alarm_id in world.alarms.items() if f'data-alarm-id="{alarm_id}"' in page
    }
    assert shown == {"fall_ha1", "battery_ha1"}


def test_acknowledge_needs_the_sessions_csrf_token(client, world, db_url):
    log_in(client, "duty_a")
    alarm_id = world.alarms["fall_ha1"]
    path = f"/console/alarms/{alarm_id}/acknowledge"
    assert client.post(path, data={"csrf_token": "forged"}).status_code == 403
    assert client.post(path, data={}).status_code == 403
    cross_site = client.post(
        path, data={"csrf_token": token_of(client)}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross_site.status_code == 403
    assert alarm_state(db_url, alarm_id)[0] == "open"
    done = client.post(path, data={"csrf_token": token_of(client)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/console/board"
    assert alarm_state(db_url, alarm_id)[:2] == ("acknowledged", "duty_a")


def test_htmx_acknowledge_answers_with_the_fresh_board_and_says_when_someone_was_first(
    client, world
):
    log_in(client, "duty_a")
    alarm_id = world.alarms["gas_ha"]
    headers = {"HX-Request": "true", csrf.HEADER: token_of(client)}
    first = client.post(f"/console/alarms/{alarm_id}/acknowledge", headers=headers)
    assert first.status_code == 200
    assert re.search(rf'class="alarm state-acknowledged[^"]*" id="alarm-{alarm_id}"', first.text)
    assert "<html" not in first.text
    again = client.post(f"/console/alarms/{alarm_id}/acknowledge", headers=headers)
    assert again.status_code == 200
    assert "acknowledged by duty_a" in again.text


def test_resolve_records_outcome_and_note(client, world, db_url):
    log_in(client, "duty_a")
    alarm_id = world.alarms["sos_ha2"]
    form = client.get(f"/console/alarms/{alarm_id}/resolve-form")
    assert 'value="false_alarm"' in form.text
    data = {"csrf_token": token_of(client), "note": "pressed while dressing"}
    missing = client.post(f"/console/alarms/{alarm_id}/resolve", data=data)
    assert missing.status_code == 400 and "choose an outcome" in missing.text
    data["outcome"] = "false_alarm"
    client.post(f"/console/alarms/{alarm_id}/resolve", data=data)
    assert alarm_state(db_url, alarm_id) == (
        "resolved",
        "duty_a",
        "false_alarm",
        "pressed while dressing",
    )
    assert f'id="alarm-{alarm_id}"' not in client.get("/console/board").text


def test_family_may_acknowledge_but_not_resolve(client, world, db_url):
    log_in(client, "family_1")
    alarm_id = world.alarms["fall_ha1"]
    token = {"csrf_token": token_of(client)}
    refused = client.post(f"/console/alarms/{alarm_id}/resolve", data={**token, "outcome": "real"})
    assert refused.status_code == 403
    back = "/console/residents/r-ha-1"
    done = client.post(
        f"/console/alarms/{alarm_id}/acknowledge",
        data={**token, "next": back},
        follow_redirects=False,
    )
    assert done.headers["location"] == back
    assert alarm_state(db_url, alarm_id)[:2] == ("acknowledged", "family_1")


def test_history_filters_and_offers_the_same_filter_as_exports(client, world):
    log_in(client, "inspector_xihu")
    page = client.get(f"/console/history?kind=gas&site={world.sites['hh']}").text
    shown = {
        name for name, alarm_id in world.alarms.items() if f'data-alarm-id="{alarm_id}"' in page
    }
    assert shown == {"gas_hh"}
    link = re.search(r'href="(/api/v1/inspector/history\.csv\?[^"]*)"', page)
    assert link is not None
    csv = client.get(link.group(1).replace("&amp;", "&"))
    assert csv.status_code == 200
    assert csv.text.count("\n") == 2  # header and the one gas alarm at hh


def test_a_malformed_filter_is_explained_not_a_crash(client, world):
    log_in(client, "inspector_xihu")
    response = client.get("/console/history?since=yesterday")
    assert response.status_code == 400
    assert "2026-11-01" in response.text
    not_an_id = client.get("/console/alarms/first")
    assert not_an_id.status_code == 400
    assert not_an_id.headers["content-type"].startswith("text/html")


def test_history_pages_follow_the_cursor(client, world, db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        for i in range(55):
            add_alarm(
                conn,
                site_id=world.sites["ha"],
                raised_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i),
            )
    log_in(client, "inspector_xihu")
    first = client.get("/console/history").text
    older = re.search(r'href="\?(cursor=[^"]+)"', first)
    assert older is not None
    second = client.get(f"/console/history?{older.group(1)}").text
    visible = len(VISIBLE["inspector_xihu"]) + 55
    assert second.count("data-alarm-id=") == visible - 50


def test_statistics_draw_charts_of_response_times(client, world, db_url):
    start = datetime(2026, 10, 5, 2, tzinfo=UTC)
    with psycopg.connect(db_url, autocommit=True) as conn:
        for seconds in (20, 40, 90):
            add_alarm(
                conn,
                site_id=world.sites["ha"],
                raised_at=start,
                ack_after_s=seconds,
                resolve_after_s=seconds * 10,
                outcome="real",
            )
    log_in(client, "inspector_xihu")
    page = client.get("/console/statistics").text
    assert page.count("<svg") == 3
    assert "<title>Site ha: 40s</title>" in page  # p50 of 20, 40, 90 s
    assert "/api/v1/inspector/statistics.pdf?" in page


def test_rectification_records_are_listed_with_overdue_first(client, world, conn):
    now = datetime.now(UTC)
    for title in ("blocked fire exit", "gas hose cracked"):
        rectification.create(
            conn=conn,
            scope=[world.sites["ha"]],
            item=RectificationCreate(site_id=world.sites["ha"], title=title),
            actor="inspector_xihu",
            now=now,
        )
    log_in(client, "inspector_xihu")
    page = client.get("/console/rectifications").text
    assert "blocked fire exit" in page and "gas hose cracked" in page
    assert "blocked fire exit" not in client.get("/console/rectifications?state=verified").text


def test_admin_creates_a_device_and_sees_its_password_once(client, world):
    log_in(client, "admin")
    token = {"csrf_token": token_of(client)}
    created = client.post(
        "/console/admin/devices",
        data={**token, "uid": "b-new-1", "site": "ha", "kind": "bracelet", "resident": "r-ha-2"},
    )
    assert created.status_code == 201
    password = re.search(r'<code id="mqtt-password">([^<]+)</code>', created.text)
    assert password is not None and len(password.group(1)) >= 16
    assert created.headers["cache-control"] == "no-store"
    listing = client.get("/console/admin/devices").text
    assert "b-new-1" in listing and password.group(1) not in listing


def test_admin_forms_say_what_to_fix(client, world):
    log_in(client, "admin")
    token = {"csrf_token": token_of(client)}
    bad_kind = client.post("/console/admin/sites", data={**token, "uid": "x", "name": "X"})
    assert bad_kind.status_code == 400 and "kind" in bad_kind.text
    duplicate = client.post(
        "/console/admin/residents", data={**token, "uid": "r-ha-1", "site": "ha", "name": "Again"}
    )
    assert duplicate.status_code == 409
    made = client.post(
        "/console/admin/sites",
        data={**token, "uid": "hz", "name": "Hangzhou Home", "kind": "care_home"},
    )
    assert "Hangzhou Home" in made.text
    assert "Hangzhou Home" in client.get("/console/admin/sites").text


def test_logout_needs_the_token_and_ends_the_session_here(client, world):
    log_in(client, "duty_a")
    assert client.post("/console/logout").status_code == 403
    client.post("/console/logout", data={"csrf_token": token_of(client)})
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/console/board", follow_redirects=False).status_code == 303


def test_language_follows_the_browser_then_the_switch(client):
    assert "登录" in client.get("/console/login").text
    english = client.get("/console/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "Log in" in english.text and 'lang="en"' in english.text
    switched = client.get("/console/lang/en?next=/console/login")
    assert switched.url.path == "/console/login"
    assert 'lang="en"' in switched.text
    assert (
        client.get("/console/lang/zh?next=//evil.example", follow_redirects=False).headers[
            "location"
        ]
        == "/console"
    )


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "zh"),
        ("en-US,en;q=0.9", "en"),
        ("fr-FR, en;q=0.5, zh;q=0.8", "zh"),
        ("zh-TW", "zh"),
        ("de", "zh"),
        ("en;q=bogus, en-GB", "en"),
    ],
)
def test_accept_language_is_negotiated(header, lang):
    assert negotiate(header) == lang


def test_both_catalogs_hold_every_key_the_templates_use():
    catalogs = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in MESSAGES_DIR.glob("*.json")
    }
    assert set(catalogs) == {"zh", "en"}
    assert set(catalogs["zh"]) == set(catalogs["en"])
    used = set()
    sources = [*TEMPLATES_DIR.glob("*.html"), *Path(csrf.__file__).parent.rglob("*.py")]
    for source in sources:
        used |= set(re.findall(r"""t\(['"]([a-z_0-9]+\.[a-z_0-9.]+)['"]\)""", source.read_text()))
        used |= set(re.findall(r'"((?:nav|login)\.(?!html")[a-z_]+)"', source.read_text()))
    assert used, "the pattern found no keys: it no longer matches the templates"
    assert used <= set(catalogs["en"])


NURSE = {"site": "ha", "name": "Nurse Wang", "role": "duty", "phone": "13700000003"}
DAUGHTER = {
    "site": "ha",
    "resident": "r-ha-1",
    "name": "Daughter Li",
    "kind": "family",
    "relation": "daughter",
    "priority": 1,
    "phone": "13800000001",
    "email": "li@example.org",
}


def add_person(client, world, path: str, body: dict[str, object]) -> dict[str, object]:
    """Add a contact or staff member through the API, as an administrator would with curl."""
    response = client.post(path, headers=world.headers("admin"), json=body)
    assert response.status_code == 201, response.text
    return response.json()


def read_back(client, world, path: str, person_id: object) -> dict[str, object]:
    listed = client.get(path, headers=world.headers("admin")).json()
    return next(p for p in listed if p["id"] == person_id)


@pytest.mark.parametrize(
    ("lang", "title", "kind"), [("zh", "联系人与员工", "家属"), ("en", "People", "family")]
)
def test_admin_sees_contacts_and_staff_in_each_language(client, world, lang, title, kind):
    contact = add_person(client, world, "/api/v1/contacts", DAUGHTER)
    staff = add_person(client, world, "/api/v1/staff", NURSE)
    log_in(client, "admin")
    client.cookies.set("anxin_lang", lang)
    page = client.get("/console/admin/people")
    assert page.status_code == 200
    assert f"<h1>{title}</h1>" in page.text
    assert 'href="/console/admin/people" aria-current="page"' in page.text
    row = page.text.split(f'id="contact-{contact["id"]}-row"')[1].split("</tr>")[0]
    assert "Daughter Li" in row and kind in row and "Resident r-ha-1" in row
    assert 'value="13800000001"' in row and 'value="li@example.org"' in row
    staff_row = page.text.split(f'id="staff-{staff["id"]}-row"')[1].split("</tr>")[0]
    assert "Nurse Wang" in staff_row and 'value="13700000003"' in staff_row
    assert "checked" in staff_row


def test_duty_staff_may_not_open_or_post_the_people_page(client, world):
    contact = add_person(client, world, "/api/v1/contacts", DAUGHTER)
    log_in(client, "duty_a")
    assert "/admin/people" not in client.get("/console/board").text
    refused = client.get("/console/admin/people")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    posted = client.post(
        f"/console/admin/people/contacts/{contact['id']}",
        data={"csrf_token": token_of(client), "phone": "1", "active": "on"},
    )
    assert posted.status_code == 403
    assert read_back(client, world, "/api/v1/contacts", contact["id"]) == contact


def test_admin_changes_a_contacts_phone_then_deactivates_them(client, world):
    contact = add_person(client, world, "/api/v1/contacts", DAUGHTER)
    path = f"/console/admin/people/contacts/{contact['id']}"
    log_in(client, "admin")
    form = {"csrf_token": token_of(client), "priority": "2", "email": "li@example.org"}
    changed = client.post(path, data={**form, "phone": "13900000009", "active": "on"})
    assert changed.status_code == 200
    assert "Daughter Li" in changed.text and 'role="status"' in changed.text
    assert read_back(client, world, "/api/v1/contacts", contact["id"]) == {
        **contact,
        "phone": "13900000009",
        "priority": 2,
    }
    client.post(path, data={**form, "phone": "13900000009"})
    assert read_back(client, world, "/api/v1/contacts", contact["id"])["active"] is False


def test_admin_changes_a_staff_members_role_and_takes_them_off_the_roster(client, world):
    staff = add_person(client, world, "/api/v1/staff", NURSE)
    path = f"/console/admin/people/staff/{staff['id']}"
    log_in(client, "admin")
    form = {"csrf_token": token_of(client), "phone": "13700000003", "email": ""}
    client.post(path, data={**form, "role": "supervisor", "active": "on"})
    assert read_back(client, world, "/api/v1/staff", staff["id"])["role"] == "supervisor"
    client.post(path, data={**form, "role": "supervisor"})
    assert read_back(client, world, "/api/v1/staff", staff["id"])["active"] is False


def test_a_people_edit_needs_the_csrf_token_and_says_what_to_fix(client, world):
    contact = add_person(client, world, "/api/v1/contacts", DAUGHTER)
    path = f"/console/admin/people/contacts/{contact['id']}"
    log_in(client, "admin")
    edit = {"priority": "1", "phone": "13900000009", "email": "", "active": "on"}
    assert client.post(path, data=edit).status_code == 403
    assert client.post(path, data={**edit, "csrf_token": "forged"}).status_code == 403
    bad = client.post(path, data={**edit, "csrf_token": token_of(client), "priority": "0"})
    assert bad.status_code == 400 and "priority" in bad.text and 'role="alert"' in bad.text
    missing = client.post(
        "/console/admin/people/contacts/999999", data={**edit, "csrf_token": token_of(client)}
    )
    assert missing.status_code == 404
    assert read_back(client, world, "/api/v1/contacts", contact["id"]) == contact
