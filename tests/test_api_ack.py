"""The acknowledgement link in messages: GET only shows, POST acknowledges once; tampered,
expired and used links are refused with a page that points to the console."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from alerts.acklink import make_token
from anxin.settings import Settings
from api.app import create_app
from tests.fix_api import ACK_SECRET


def _token(alarm_id: int, *, ttl_s: float = 3600, now: float | None = None) -> str:
    return make_token(
        alarm_id=alarm_id,
        recipient="staff:7:Wang Fang",
        secret=ACK_SECRET,
        ttl_s=ttl_s,
        now=time.time() if now is None else now,
    )


def _state(client, world, alarm_id):
    return client.get(f"/api/v1/alarms/{alarm_id}", headers=world.headers("admin")).json()


def test_get_shows_a_confirm_button_and_post_acknowledges_once(client, world):
    alarm = world.alarms["sos_ha2"]
    token = _token(alarm)
    page = client.get(f"/ack/{token}")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "sos at r-ha-2" in page.text
    assert f'action="/ack/{token}"' in page.text
    assert _state(client, world, alarm)["state"] == "open"

    done = client.post(f"/ack/{token}")
    assert done.status_code == 200
    assert "Acknowledged" in done.text
    detail = _state(client, world, alarm)
    assert detail["state"] == "acknowledged"
    assert detail["acknowledged_by"] == "staff:7:Wang Fang"
    assert detail["events"][-1]["detail"]["via"] == "link"

    assert client.post(f"/ack/{token}").status_code == 409
    assert client.get(f"/ack/{token}").status_code == 409


def test_a_second_link_after_someone_acknowledged_says_so(client, world):
    alarm = world.alarms["fall_ha1"]
    client.post(f"/api/v1/alarms/{alarm}/acknowledge", headers=world.headers("duty_a"))
    response = client.post(f"/ack/{_token(alarm)}")
    assert response.status_code == 200
    assert "duty_a" in response.text


def test_tampered_and_expired_links_are_refused(client, world):
    alarm = world.alarms["gas_ha"]
    token = _token(alarm)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.post(f"/ack/{tampered}").status_code == 400
    assert client.get("/ack/not-a-token").status_code == 400
    expired = _token(alarm, ttl_s=60, now=time.time() - 120)
    response = client.post(f"/ack/{expired}")
    assert response.status_code == 410
    assert "console" in response.text
    assert _state(client, world, alarm)["state"] == "open"


def test_links_are_off_without_a_secret(db_url, world):
    from tests.fix_api import SECRET

    app = create_app(Settings(database_url=db_url, api_secret=SECRET))
    with TestClient(app) as client:
        assert client.get(f"/ack/{_token(world.alarms['gas_ha'])}").status_code == 404
