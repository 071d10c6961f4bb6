"""``anxin demo``: the platform and a simulated fleet in one process, with a live summary.

If the configured PostgreSQL or broker cannot be reached, private ones are started from the
machine's binaries (a throw-away cluster, a Mosquitto on a free port), so the demo still runs.
"""

from __future__ import annotations

import logging
import socket
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import psycopg
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from anxin.db import connect, wait_for_database, with_database
from anxin.demo_services import (
    DEMO_PASSWORD,
    DemoLogin,
    demo_settings,
    ensure_logins,
    start_services,
)
from anxin.errors import DatabaseUnavailable
from anxin.localservers import PrivateMosquitto, PrivatePostgres
from anxin.migrate import migrate, storage_options
from anxin.platform import Platform
from anxin.settings import Settings
from device_sim.falls import FallLibrary
from device_sim.models import FleetSpec, SimDevice
from device_sim.provision import provision
from device_sim.recipients import recipients_inbox
from device_sim.runner import FleetRunner
from device_sim.scenario import SCENARIO_DIR, load_scenario, play

logger = logging.getLogger(__name__)

COUNTED = [
    "reading_vitals",
    "reading_env",
    "reading_heartbeat",
    "impact_window",
    "dead_letter",
    "alarms",
]


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def resolve_servers(settings: Settings, stack: ExitStack, console: Console) -> Settings:
    """Use the configured servers, or start private ones when those are not running."""
    updates: dict[str, str] = {}
    try:
        wait_for_database(with_database(settings.database_url, "postgres"), timeout_s=3)
    except DatabaseUnavailable:
        pg = PrivatePostgres(Path(tempfile.mkdtemp(prefix="anxin-demo-pg-")))
        console.print(f"[yellow]PostgreSQL not reachable: starting a private one on {pg.port}")
        pg.init()
        pg.start()
        stack.callback(pg.stop)
        updates["database_url"] = pg.url
    endpoint = settings.mqtt
    if not _reachable(endpoint.host, endpoint.port):
        broker = PrivateMosquitto(Path(tempfile.mkdtemp(prefix="anxin-demo-mqtt-")))
        console.print(
            f"[yellow]broker not reachable: starting a private Mosquitto on {broker.port}"
        )
        broker.start()
        stack.callback(broker.stop)
        updates["mqtt_url"] = broker.url
    return settings.model_copy(update=updates) if updates else settings


def run_demo(
    settings: Settings,
    spec: FleetSpec,
    *,
    duration_s: float,
    interval_s: float,
    console: Console,
    incidents: bool = True,
) -> dict[str, int]:
    """Run until ``duration_s`` passes (0: until Ctrl-C); returns the final row counts.

    With ``incidents`` the demo plays ``device_sim/scenarios/demo.yaml`` on its fleet (an SOS,
    a gas leak, a real recorded fall) so that alarms appear within the first minute."""
    with ExitStack() as stack:
        settings = demo_settings(resolve_servers(settings, stack, console))
        report = migrate(settings.database_url, storage_options(settings))
        console.print(f"storage: {report.backend.describe()}; why: {report.choice.reason}")
        # The demo's people are reached by webhooks to a local inbox standing for their phones.
        spec = replace(spec, notify_url=stack.enter_context(recipients_inbox()))
        platform = Platform(settings)
        platform.start()
        stack.callback(platform.stop)
        sim, devices = start_fleet(
            settings, spec, stack, interval_s=interval_s, incidents=incidents
        )
        console.print(
            f"fleet: {len(devices)} devices on {len({d.site_uid for d in devices})} sites"
        )
        access = _access_table(start_services(settings, stack), ensure_logins(settings))
        started = time.monotonic()
        counts: dict[str, int] = {}
        try:
            with Live(console=console, refresh_per_second=1) as live:
                while duration_s <= 0 or time.monotonic() - started < duration_s:
                    counts = _counts(settings.database_url)
                    alarms = _recent_alarms(settings.database_url)
                    elapsed = time.monotonic() - started
                    live.update(
                        Group(access, _summary(counts, sim.stats.published, elapsed), alarms)
                    )
                    time.sleep(1)
        except KeyboardInterrupt:
            console.print("stopping …")
        return _counts(settings.database_url) or counts


def start_fleet(
    settings: Settings, spec: FleetSpec, stack: ExitStack, *, interval_s: float, incidents: bool
) -> tuple[FleetRunner, list[SimDevice]]:
    """Register the fleet (idempotent), start its devices and, with ``incidents``, play
    ``demo.yaml`` on it; everything stops when ``stack`` closes."""
    with connect(settings.database_url) as conn:
        devices = provision(conn=conn, spec=spec)
        conn.commit()
    sim = FleetRunner(devices, settings.mqtt, interval_s=interval_s, seed=spec.seed)
    sim.start()
    stack.callback(sim.stop)
    if incidents:
        scenario = load_scenario(SCENARIO_DIR / "demo.yaml")
        threading.Thread(
            target=play,
            args=(scenario, sim, settings.database_url, FallLibrary()),
            daemon=True,
        ).start()
    return sim, devices


def _access_table(url: str, logins: list[DemoLogin]) -> Table:
    table = Table(title=f"console: {url}  (password of every demo user: {DEMO_PASSWORD})")
    for column in ("user", "role", "sees"):
        table.add_column(column)
    for login in logins:
        table.add_row(login.username, login.role, login.sees)
    return table


def _counts(url: str) -> dict[str, int]:
    try:
        with connect(url) as conn:
            return {
                t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
                for t in COUNTED
            }
    except psycopg.Error:
        return {}


def _summary(counts: dict[str, int], published: int, elapsed: float) -> Table:
    table = Table(title=f"Anxin demo · {elapsed:.0f} s · {published} messages published")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, value in counts.items():
        table.add_row(name, str(value))
    return table


def _recent_alarms(url: str) -> Table:
    table = Table(title="latest alarms")
    for column in ("raised", "kind", "severity", "state", "site", "title", "×"):
        table.add_column(column)
    try:
        with connect(url) as conn:
            rows = conn.execute(
                """SELECT to_char(a.raised_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI:SS'),
                          a.kind, a.severity, a.state::text, s.uid, a.title, a.occurrences
                   FROM alarms a JOIN sites s ON s.id = a.site_id
                   ORDER BY a.raised_at DESC LIMIT 8"""
            ).fetchall()
    except psycopg.Error:
        return table
    names = {1: "info", 2: "warning", 3: "alarm", 4: "[bold red]critical"}
    for raised, kind, severity, state, site, title, times in rows:
        table.add_row(
            raised, kind, names.get(severity, str(severity)), state, site, title, str(times)
        )
    return table
