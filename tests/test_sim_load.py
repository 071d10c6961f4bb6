"""`anxin sim load`'s publishers: every message they report as offered reaches the platform."""

from __future__ import annotations

import uuid

import pytest

from device_sim.load import run_load, split_plan
from tests.helpers import IngestHarness, count, register_bracelet, wait_until


def test_load_mode_messages_are_all_stored_once(
    ingest: IngestHarness, db_url: str, mqtt_url: str
) -> None:
    site = f"load-{uuid.uuid4().hex[:8]}"
    devices = [register_bracelet(db_url, site=site)[1] for _ in range(4)]
    plans = split_plan(
        mqtt_url=mqtt_url,
        site=site,
        devices=devices,
        messages=2_000,
        per_message=5,
        rate=0,
        qos=1,
        publishers=2,
    )
    seen: list[tuple[int, int]] = []

    result = run_load(plans, lambda done, total: seen.append((done, total)))

    assert (result.messages, result.readings) == (2_000, 10_000)
    assert seen[-1] == (2_000, 2_000)
    query = "SELECT count(DISTINCT (device_id, seq)) FROM reading_vitals"
    wait_until(lambda: count(db_url, query) >= 10_000, timeout_s=30, what="10k readings")
    assert count(db_url, "SELECT count(*) FROM reading_vitals") == 10_000


def test_a_publisher_needs_a_device_of_its_own(mqtt_url: str) -> None:
    with pytest.raises(ValueError, match="one device per publisher"):
        split_plan(
            mqtt_url=mqtt_url,
            site="s",
            devices=["only-one"],
            messages=10,
            per_message=1,
            rate=0,
            qos=1,
            publishers=2,
        )
