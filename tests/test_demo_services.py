"""What `anxin demo` adds for the console: secrets for a local run, and one working login per
role, scoped to the demo fleet."""

from __future__ import annotations

import psycopg

from anxin.demo_services import DEMO_PASSWORD, demo_settings, ensure_logins
from anxin.settings import Settings
from api.accounts import load_principal, user_id_by_name
from api.login import log_in
from device_sim.models import FleetSpec
from device_sim.provision import provision


def test_demo_fills_only_what_is_missing() -> None:
    given = Settings(api_secret="x" * 40, public_url="https://anxin.example.org")
    filled = demo_settings(given)

    assert filled.api_secret == "x" * 40
    assert filled.public_url == "https://anxin.example.org"
    assert len(filled.ack_secret) >= 32 and len(filled.delivery_webhook_secret) >= 32
    assert filled.api_cookie_secure is False


def test_every_demo_login_works_and_sees_its_part_of_the_fleet(db_url: str) -> None:
    settings = demo_settings(Settings(database_url=db_url))
    with psycopg.connect(db_url) as conn:
        provision(conn=conn, spec=FleetSpec())
        conn.commit()

    first = ensure_logins(settings)
    again = ensure_logins(settings)

    assert [login.role for login in first] == ["admin", "duty", "family", "inspector"]
    assert again == first
    with psycopg.connect(db_url) as conn:
        for login in first:
            log_in(conn=conn, settings=settings, username=login.username,
                   password=DEMO_PASSWORD, ip="127.0.0.1")  # fmt: skip
        duty_id = user_id_by_name(conn=conn, username="duty")
        family_id = user_id_by_name(conn=conn, username="family")
        assert duty_id is not None and family_id is not None
        duty = load_principal(conn=conn, user_id=duty_id)
        family = load_principal(conn=conn, user_id=family_id)
        sites = dict(conn.execute("SELECT id, uid FROM sites").fetchall())
    assert duty is not None and family is not None
    assert sorted(sites[i] for i in duty.site_ids) == ["ch1", "ch2", "fun1"]
    assert len(family.resident_ids) == 1
