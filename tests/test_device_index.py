"""The device index re-reads the registry at most once per refresh interval whatever arrives,
yet finds a device registered moments ago at once (real database, no broker)."""

from __future__ import annotations

import time

import psycopg

from anxin import registry
from anxin.consumer import Message
from anxin.device_index import DeviceIndex
from tests.helpers import register_bracelet, vitals


def _msg(site: str, device: str) -> Message:
    return Message(f"anxin/v1/{site}/{device}/reading", vitals(1), 1, 1, time.monotonic_ns())


def test_a_flood_from_unknown_and_inactive_devices_does_not_re_read_the_registry(db_url):
    site, _ = register_bracelet(db_url)
    _, off = register_bracelet(db_url, site=site)
    with psycopg.connect(db_url) as conn:
        registry.set_device_active(conn=conn, uid=off, active=False)
        conn.commit()
        index = DeviceIndex(refresh_s=60)
        index.load(conn=conn)
        for n in range(500):
            flood = [_msg(site, f"forged-{n}"), _msg(site, "ghost"), _msg(site, off)]
            assert not index.refresh(flood, conn=conn)
    assert index.loads == 1


def test_a_device_registered_since_the_last_read_is_found_at_once(db_url):
    site, _ = register_bracelet(db_url)
    with psycopg.connect(db_url) as conn:
        index = DeviceIndex(refresh_s=60)
        index.load(conn=conn)
        _, new = register_bracelet(db_url, site=site)
        assert index.refresh([_msg(site, new)], conn=conn)
        assert index.get(new) is not None
        assert index.loads == 2


def test_a_device_activated_meanwhile_is_picked_up_within_the_interval(db_url):
    site, dev = register_bracelet(db_url)
    with psycopg.connect(db_url) as conn:
        registry.set_device_active(conn=conn, uid=dev, active=False)
        conn.commit()
        index = DeviceIndex(refresh_s=0.5)
        index.load(conn=conn)
        registry.set_device_active(conn=conn, uid=dev, active=True)
        conn.commit()
        assert not index.refresh([_msg(site, dev)], conn=conn)
        assert index.get(dev).active is False
        time.sleep(0.5)
        assert index.refresh([_msg(site, dev)], conn=conn)
        assert index.get(dev).active is True
        assert index.loads == 2
