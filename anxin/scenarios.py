"""Running scenario files end to end: provision the fleet, start the platform, play, report."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from rich.table import Table

from alerts.workers import start_delivery
from anxin.db import connect
from anxin.demo_services import demo_settings
from anxin.migrate import migrate, storage_options
from anxin.platform import Platform
from anxin.settings import Settings
from device_sim.falls import FallLibrary
from device_sim.provision import provision
from device_sim.recipients import recipients_inbox
from device_sim.runner import FleetRunner
from device_sim.scenario import Outcome, Scenario, load_scenario, play


def run_one(
    settings: Settings,
    scenario: Scenario,
    falls: FallLibrary,
    prefix: str = "",
    notify_url: str = "",
) -> list[Outcome]:
    """Play one scenario on its own fleet (uids start with ``prefix``, its people reached at
    ``notify_url``); the platform must run."""
    with connect(settings.database_url) as conn:
        devices = provision(conn=conn, spec=scenario.spec(prefix, notify_url))
        conn.commit()
    runner = FleetRunner(
        devices, settings.mqtt, interval_s=scenario.interval_s, heartbeat_s=scenario.heartbeat_s
    )
    runner.start()
    try:
        return play(scenario, runner, settings.database_url, falls, prefix)
    finally:
        runner.stop()


def run_scenarios(
    settings: Settings, paths: list[Path], console: Console, *, with_platform: bool
) -> bool:
    """Run the files side by side, each on its own fleet (uid prefix ``s<n>-``) whose people
    are reached through a local webhook inbox, and print a table each; True when every
    expectation was met in time. With ``with_platform``, ingest, alerts, delivery and
    escalation run here; else they must already run (and reach this machine's inbox)."""
    falls = FallLibrary()
    scenarios = [load_scenario(path) for path in paths]
    with ExitStack() as stack:
        migrate(settings.database_url, storage_options(settings))
        notify_url = stack.enter_context(recipients_inbox())
        if with_platform:
            settings = demo_settings(settings)
            platform = Platform(settings)
            platform.start()
            stack.callback(platform.stop)
            start_delivery(settings, stack)
        with ThreadPoolExecutor(max_workers=len(scenarios)) as pool:
            results = list(
                pool.map(
                    lambda item: run_one(settings, item[1], falls, f"s{item[0]}-", notify_url),
                    enumerate(scenarios),
                )
            )
    ok = True
    for scenario, outcomes in zip(scenarios, results, strict=True):
        table = Table(
            "expected",
            "within s",
            "met after s",
            "ok",
            title=f"{scenario.name}: {scenario.description}",
        )
        for o in outcomes:
            met = "never" if o.met_after_s is None else f"{o.met_after_s:.1f}"
            table.add_row(o.what, f"{o.within_s:g}", met, "✓" if o.ok else "✗")
        console.print(table)
        ok = ok and all(o.ok for o in outcomes)
    return ok
