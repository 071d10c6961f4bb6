"""Logging in: tokens, the console's session cookie, API keys, revocation, rate limiting, and
the ``anxin users`` command."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from anxin.cli import app as cli_app
from api.accounts import create_api_key, revoke_api_key
from tests.fix_api import PASSWORD, SECRET


def _token(client: TestClient, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_health_answers_when_the_database_does(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_password_flow_issues_a_token_that_names_the_user_and_scope(client, world):
    response = _token(client, "duty_a")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == "duty"
    assert me.json()["site_ids"] == [world.sites["ha"]]


def test_inspector_region_covers_every_site_under_it_and_family_the_home(client, world):
    inspector = client.get("/api/v1/auth/me", headers=world.headers("inspector_xihu")).json()
    assert set(inspector["site_ids"]) == {world.sites["ha"], world.sites["hh"]}
    family = client.get("/api/v1/auth/me", headers=world.headers("family_h")).json()
    assert family["resident_ids"] == [world.residents["r-hh-1"]]
    assert family["site_ids"] == [world.sites["hh"]]
    care_home_family = client.get("/api/v1/auth/me", headers=world.headers("family_1")).json()
    assert care_home_family["site_ids"] == []


def test_wrong_password_and_missing_credentials_are_401(client, world):
    assert _token(client, "duty_a", "wrong password!").status_code == 401
    assert _token(client, "nobody", PASSWORD).status_code == 401
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    forged = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not.a.token"})
    assert forged.status_code == 401


def test_a_token_signed_with_another_secret_is_refused(client, world):
    from api.security import issue_token

    token = issue_token(user_id=world.users["admin"], generation=0, secret="y" * 40, ttl_s=60)
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_five_failures_lock_the_username_and_address_out(api_app, world):
    attacker = TestClient(api_app, client=("203.0.113.7", 5000))
    with attacker:
        for _ in range(5):
            assert _token(attacker, "duty_a", "guess guess guess").status_code == 401
        locked = _token(attacker, "duty_a")
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["retry-after"]) <= 300
        assert _token(attacker, "duty_b").status_code == 200
    with TestClient(api_app, client=("198.51.100.2", 5000)) as colleague:
        assert _token(colleague, "duty_a").status_code == 200


def test_a_success_resets_the_failure_count(api_app, world):
    with TestClient(api_app, client=("203.0.113.8", 5000)) as client:
        for _ in range(4):
            _token(client, "duty_a", "typo typo typo")
        assert _token(client, "duty_a").status_code == 200
        for _ in range(4):
            _token(client, "duty_a", "typo typo typo")
        assert _token(client, "duty_a").status_code == 200


def test_console_session_cookie_is_httponly_lax_and_authenticates(client, world):
    response = client.post(
        "/api/v1/auth/session", data={"username": "family_1", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    cookie = response.headers["set-cookie"]
    assert "anxin_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert client.get("/api/v1/auth/me").json()["username"] == "family_1"
    assert client.delete("/api/v1/auth/session").status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_secure_flag_follows_the_setting(db_url, world):
    from anxin.settings import Settings
    from api.app import create_app

    app = create_app(Settings(database_url=db_url, api_secret=SECRET, api_cookie_secure=True))
    with TestClient(app, base_url="https://testserver") as client:
        response = client.post(
            "/api/v1/auth/session", data={"username": "admin", "password": PASSWORD}
        )
        assert "Secure" in response.headers["set-cookie"]


def test_api_key_acts_as_its_user_until_revoked(client, world, db_url):
    with psycopg.connect(db_url) as conn:
        key_id, key = create_api_key(conn=conn, user_id=world.users["duty_b"], name="bridge")
        conn.commit()
    me = client.get("/api/v1/auth/me", headers={"X-API-Key": key})
    assert me.status_code == 200
    assert me.json()["username"] == "duty_b"
    with psycopg.connect(db_url) as conn:
        revoke_api_key(conn=conn, key_id=key_id)
        conn.commit()
    assert client.get("/api/v1/auth/me", headers={"X-API-Key": key}).status_code == 401


def test_revoke_logs_out_everywhere(client, world):
    token = _token(client, "admin").json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    fresh = _token(client, "admin").json()["access_token"]
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {fresh}"}).is_success


def test_a_deactivated_user_is_refused_at_once(client, world, db_url):
    headers = world.headers("duty_a")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE users SET active = false WHERE username = 'duty_a'")
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert _token(client, "duty_a").status_code == 401


def test_cli_adds_users_with_their_scope(db_url, world, monkeypatch):
    monkeypatch.setenv("ANXIN_DATABASE_URL", db_url)
    monkeypatch.setenv("ANXIN_NEW_USER_PASSWORD", "a long enough password")
    runner = CliRunner()
    result = runner.invoke(
        cli_app, ["users", "add", "nurse", "--role", "duty", "--site", "ha", "--site", "hb"]
    )
    assert result.exit_code == 0, result.output
    with psycopg.connect(db_url) as conn:
        sites = conn.execute(
            """SELECT array_agg(s.uid ORDER BY s.uid) FROM user_scopes us
               JOIN users u ON u.id = us.user_id JOIN sites s ON s.id = us.site_id
               WHERE u.username = 'nurse'"""
        ).fetchone()[0]
    assert sites == ["ha", "hb"]
    wrong = runner.invoke(cli_app, ["users", "add", "x", "--role", "family", "--site", "ha"])
    assert wrong.exit_code != 0
    assert "takes no site scope" in str(wrong.exception) + wrong.output
    unknown = runner.invoke(cli_app, ["users", "add", "y", "--role", "duty", "--site", "nope"])
    assert "no site 'nope'" in str(unknown.exception) + unknown.output


def test_a_session_cookie_call_that_changes_state_needs_the_session_token(client, world):
    """A page of another site can make the browser send the cookie (SameSite=Lax lets some
    requests through); without the session-bound token the API refuses the change."""
    from api.csrf import HEADER, token_for

    login = client.post("/api/v1/auth/session", data={"username": "duty_a", "password": PASSWORD})
    assert login.status_code == 200, login.text
    gas = world.alarms["gas_ha"]

    forged = client.post(f"/api/v1/alarms/{gas}/acknowledge")
    assert forged.status_code == 403
    assert HEADER in forged.json()["detail"]
    assert client.get(f"/api/v1/alarms/{gas}").json()["state"] == "open"

    token = token_for(client.cookies["anxin_session"], SECRET)
    ack = client.post(f"/api/v1/alarms/{gas}/acknowledge", headers={HEADER: token})
    assert ack.status_code == 200, ack.text


def test_a_login_form_posted_from_another_site_is_refused(client, world):
    response = client.post(
        "/api/v1/auth/session",
        data={"username": "duty_a", "password": PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert "anxin_session" not in response.headers.get("set-cookie", "")
