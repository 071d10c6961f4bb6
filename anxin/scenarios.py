"""Running scenario files end to end: provision the fleet, start the platform, play, report."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from rich.console import Console
from rich.table import Table

from anxin.db import connect
from anxin.migrate import migrate
from anxin.platform import Platform
from anxin.settings import Settings
from device_sim.falls import FallLibrary
from device_sim.provision import provision
from device_sim.runner import FleetRunner
from device_sim.scenario import Outcome, Scenario, load_scenario, play


def run_one(
    settings: Settings, scenario: Scenario, falls: FallLibrary, prefix: str = ""
) -> list[Outcome]:
    """Play one scenario on its own fleet (uids start with ``prefix``); the platform must run."""
    with connect(settings.database_url) as conn:
        devices = provision(conn=conn, spec=scenario.spec(prefix))
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
    """Run the files side by side, each on its own fleet (uid prefix ``s<n>-``), and print a
    table each; True when every expectation was met in time."""
    falls = FallLibrary()
    scenarios = [load_scenario(path) for path in paths]
    with ExitStack() as stack:
        migrate(settings.database_url)
        if with_platform:
            platform = Platform(settings)
            platform.start()
            stack.callback(platform.stop)
        with ThreadPoolExecutor(max_workers=len(scenarios)) as pool:
            results = list(
                pool.map(
                    lambda item: run_one(settings, item[1], falls, f"s{item[0]}-"),
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
