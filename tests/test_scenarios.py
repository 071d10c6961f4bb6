"""Every shipped scenario, end to end: simulated devices → real broker → ingest and alerts →
real database → delivery and escalation → webhooks to a real HTTP inbox standing for people's
phones. A test fails when an expected alarm, dead letter or delivered notification does not
come in time."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest

from alerts.workers import start_delivery
from anxin.demo_services import demo_settings
from anxin.platform import Platform
from anxin.scenarios import run_one
from anxin.settings import Settings
from device_sim.falls import FallLibrary, fall_data_path
from device_sim.recipients import recipients_inbox
from device_sim.scenario import load_scenario, shipped_scenarios
from tests.helpers import drop_session

pytestmark = pytest.mark.scenario


def test_every_shipped_scenario_produces_its_outcomes_in_time(db_url, mqtt_url):
    tag = uuid.uuid4().hex[:6]
    settings = Settings(
        database_url=db_url,
        mqtt_url=mqtt_url,
        ingest_client_id=f"test-ingest-{tag}",
        alerts_client_id=f"test-alerts-{tag}",
        ingest_metrics_port=0,
        ingest_batch_wait_ms=20,
    )
    scenarios = [load_scenario(p) for p in shipped_scenarios()]
    assert len(scenarios) >= 8
    assert sum(len(s.notifications) for s in scenarios) >= 6
    falls = FallLibrary()
    # A synthetic fall is a textbook shape, not a recording: whether the classifier confirms it
    # says nothing, so scenarios that replay falls run only where the recordings are.
    need_recordings = [s.name for s in scenarios if any(e.action == "fall" for e in s.events)]
    if not falls.real:
        scenarios = [s for s in scenarios if s.name not in need_recordings]
    settings = demo_settings(settings)
    platform = Platform(settings)
    platform.start()
    try:
        with ExitStack() as stack:
            notify_url = stack.enter_context(recipients_inbox())
            start_delivery(settings, stack)
            with ThreadPoolExecutor(max_workers=len(scenarios)) as pool:
                results = list(
                    pool.map(
                        lambda item: run_one(
                            settings, item[1], falls, f"t{tag}{item[0]}-", notify_url
                        ),
                        enumerate(scenarios),
                    )
                )
    finally:
        platform.stop()
        drop_session(mqtt_url, settings.ingest_client_id)
        drop_session(mqtt_url, settings.alerts_client_id)
    failures = [
        f"{s.name}: {o.what} expected within {o.within_s} s, "
        + ("never happened" if o.met_after_s is None else f"came after {o.met_after_s:.1f} s")
        for s, outcomes in zip(scenarios, results, strict=True)
        for o in outcomes
        if not o.ok
    ]
    assert not failures, "\n".join(failures)
    if not falls.real:
        pytest.skip(
            f"the other scenarios passed; {', '.join(need_recordings)} not run: no fall "
            f"recordings at {fall_data_path()} (set ANXIN_FALL_DATA to fallalld_wrist.npz)"
        )
