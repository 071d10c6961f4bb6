"""Fixtures for the API tests: an app on a fresh database, a seeded world of three sites with
residents, devices, alarms and one user of each role, and bearer headers for each user."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alerts.models import AlarmKind, Severity, Subject, Trigger
from alerts.store import raise_alarm
from anxin import registry
from anxin.settings import Settings
from api.accounts import UserScope, create_user
from api.app import create_app
from api.security import hash_password, issue_token

SECRET = "test-secret-" + "x" * 40
ACK_SECRET = "ack-secret-" + "y" * 40
PASSWORD = "correct horse battery"


@pytest.fixture
def api_settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        api_secret=SECRET,
        ack_secret=ACK_SECRET,
        api_cookie_secure=False,
        api_stream_poll_s=0.5,
    )


@pytest.fixture
def api_app(api_settings: Settings) -> FastAPI:
    return create_app(api_settings)


@pytest.fixture
def client(api_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(api_app) as test_client:
        yield test_client


@dataclass
class World:
    """Ids by uid or name, and a bearer header per username."""

    sites: dict[str, int] = field(default_factory=dict)
    residents: dict[str, int] = field(default_factory=dict)
    devices: dict[str, int] = field(default_factory=dict)
    locations: dict[str, int] = field(default_factory=dict)
    alarms: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    def headers(self, username: str) -> dict[str, str]:
        token = issue_token(user_id=self.users[username], generation=0, secret=SECRET, ttl_s=3600)
        return {"Authorization": f"Bearer {token}"}


USERS = {
    "admin": ("admin", UserScope()),
    "duty_a": ("duty", UserScope(sites=["ha"])),
    "duty_b": ("duty", UserScope(sites=["hb"])),
    "family_1": ("family", UserScope(residents=["r-ha-1"])),
    "family_h": ("family", UserScope(residents=["r-hh-1"])),
    "inspector_xihu": ("inspector", UserScope(regions=["Xihu"])),
}

# alarm name -> (kind, subject kind, subject key, site, device)
ALARMS = {
    "fall_ha1": (AlarmKind.FALL, "resident", "r-ha-1", "ha", "b-ha-1"),
    "sos_ha2": (AlarmKind.SOS, "resident", "r-ha-2", "ha", "b-ha-2"),
    "gas_ha": (AlarmKind.GAS, "location", "ha/kitchen", "ha", "g-ha-1"),
    "battery_ha1": (AlarmKind.LOW_BATTERY, "device", "b-ha-1", "ha", "b-ha-1"),
    "fire_hb": (AlarmKind.FIRE, "location", "hb/hall", "hb", "s-hb-1"),
    "gas_hh": (AlarmKind.GAS, "location", "hh/kitchen", "hh", "g-hh-1"),
    "inactivity_hh": (AlarmKind.INACTIVITY, "resident", "r-hh-1", "hh", "b-hh-1"),
}
VISIBLE = {
    "admin": set(ALARMS),
    "duty_a": {"fall_ha1", "sos_ha2", "gas_ha", "battery_ha1"},
    "duty_b": {"fire_hb"},
    "family_1": {"fall_ha1", "battery_ha1"},
    "family_h": {"gas_hh", "inactivity_hh"},
    "inspector_xihu": {"fall_ha1", "sos_ha2", "gas_ha", "battery_ha1", "gas_hh", "inactivity_hh"},
}


def seed_world(db_url: str, *, users: bool = True) -> World:
    """Care home ``ha`` (Xihu/Lingyin), care home ``hb`` (Binjiang), and ``hh``, the home of a
    senior living alone (Xihu/Maojiawu); an open alarm of each kind in ``ALARMS``."""
    world = World()
    with psycopg.connect(db_url) as conn:
        for uid, kind, region in (
            ("ha", "care_home", "Xihu/Lingyin"),
            ("hb", "care_home", "Binjiang"),
            ("hh", "home_alone", "Xihu/Maojiawu"),
        ):
            world.sites[uid] = registry.create_site(
                conn=conn, uid=uid, name=f"Site {uid}", kind=kind, region=region
            ).id
        for site, name, kind in (
            ("ha", "kitchen", "kitchen"),
            ("ha", "101", "room"),
            ("hb", "hall", "hall"),
            ("hh", "kitchen", "kitchen"),
        ):
            world.locations[f"{site}/{name}"] = registry.create_location(
                conn=conn, site_uid=site, name=name, kind=kind
            )
        for uid, site in (("r-ha-1", "ha"), ("r-ha-2", "ha"), ("r-hb-1", "hb"), ("r-hh-1", "hh")):
            world.residents[uid] = registry.create_resident(
                conn=conn, uid=uid, site_uid=site, name=f"Resident {uid}"
            )
        for uid, site, kind, resident, location in (
            ("b-ha-1", "ha", "bracelet", "r-ha-1", None),
            ("b-ha-2", "ha", "bracelet", "r-ha-2", None),
            ("g-ha-1", "ha", "gas", None, "ha/kitchen"),
            ("b-hb-1", "hb", "bracelet", "r-hb-1", None),
            ("s-hb-1", "hb", "smoke", None, "hb/hall"),
            ("b-hh-1", "hh", "bracelet", "r-hh-1", None),
            ("g-hh-1", "hh", "gas", None, "hh/kitchen"),
        ):
            issued = registry.create_device(
                conn=conn,
                uid=uid,
                site_uid=site,
                kind=kind,
                resident_id=world.residents[resident] if resident else None,
                location_id=world.locations[location] if location else None,
            )
            world.devices[uid] = issued.device.id
        now_ms = int(time.time() * 1000)
        for name, (kind, subject_kind, key, site, device) in ALARMS.items():
            ids = {
                "resident": world.residents,
                "location": world.locations,
                "device": world.devices,
            }
            trigger = Trigger(
                kind=kind,
                severity=Severity.ALARM,
                subject=Subject(subject_kind, ids[subject_kind][key]),
                site_uid=site,
                title=f"{kind} at {key}",
                evidence={"test": name},
                device_id=world.devices[device],
                at_ms=now_ms,
            )
            world.alarms[name] = raise_alarm(conn=conn, trigger=trigger).alarm_id
        if users:
            for username, (role, scope) in USERS.items():
                world.users[username] = create_user(
                    conn=conn, username=username, password=PASSWORD, role=role, scope=scope
                )
        conn.commit()
    return world


@functools.cache
def _password_hash(password: str) -> str:
    return hash_password(password)


@pytest.fixture
def world(db_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """The seeded world; its users share one argon2 hash (hashing takes ~0.2 s each)."""
    monkeypatch.setattr("api.accounts.hash_password", _password_hash)
    return seed_world(db_url)


@pytest.fixture
def live_api(api_settings: Settings) -> Iterator[str]:
    """The app served by a real uvicorn on a free loopback port (streams need a real server);
    yields its base URL."""
    import socket
    import threading

    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        create_app(api_settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test API server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
