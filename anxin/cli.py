"""The ``anxin`` command: one subcommand per service and tool."""

from __future__ import annotations

import json
import logging
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

from alerts.fall.cli import app as fall_app
from anxin.errors import AnxinError
from anxin.settings import Settings
from anxin.storage_jobs import StorageJob
from api.cli import users_app
from dashboards.cli import app as dashboards_app

console = Console(stderr=True)
app = typer.Typer(
    help="Anxin (安心): IoT safety monitoring for elderly care.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema and maintenance.", no_args_is_help=True)
devices_app = typer.Typer(help="Device registry and broker credentials.", no_args_is_help=True)
sites_app = typer.Typer(
    help="Sites: care homes, homes of seniors living alone, funeral facilities."
)
sim_app = typer.Typer(help="Device fleet simulator and scenarios.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks that prove the numbers in the brief.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(devices_app, name="devices")
app.add_typer(sites_app, name="sites")
app.add_typer(bench_app, name="bench")
app.add_typer(sim_app, name="sim")
app.add_typer(fall_app, name="fall")
app.add_typer(users_app, name="users")
app.add_typer(dashboards_app, name="dashboards")


def _report(title: str, figures: Mapping[str, object], *, as_json: bool) -> None:
    """A benchmark's figures as a table; with ``--json`` also as one JSON object, the last line
    of standard output (the contract scripts rely on)."""
    table = Table("figure", "value", title=title)
    for key, value in figures.items():
        table.add_row(key, str(value))
    console.print(table)
    if as_json:
        typer.echo(json.dumps(figures))


def load_settings() -> Settings:
    """Build the settings once; a bad variable is reported by name, not as a traceback."""
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = "ANXIN_" + "_".join(str(p) for p in error["loc"]).upper()
            console.print(f"[red]configuration error[/]: {name}: {error['msg']}")
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=console, show_path=False, rich_tracebacks=True)],
        force=True,
    )
    # yoyo logs every migration step at INFO; what was applied is reported by `db status`.
    logging.getLogger("yoyo").setLevel(logging.WARNING)
    return settings


def run_cli() -> None:
    """Entry point: AnxinError becomes a one-line message and exit code 1."""
    try:
        app()
    except AnxinError as exc:
        console.print(f"[red]error[/]: {exc}")
        sys.exit(1)


@db_app.command("migrate")
def db_migrate() -> None:
    """Create the database if needed and apply pending migrations."""
    from anxin.db import wait_for_database
    from anxin.migrate import migrate, storage_options

    settings = load_settings()
    wait_for_database(_admin_url(settings.database_url))
    report = migrate(settings.database_url, storage_options(settings))
    console.print(f"applied: {', '.join(report.applied) or 'nothing (up to date)'}")
    console.print(f"storage: {report.backend.describe()}; why: {report.choice.reason}")


@db_app.command("status")
def db_status() -> None:
    """Storage path in use and why, TimescaleDB's policy jobs, row counts of the main tables."""
    from anxin.db import connect, detect_backend
    from anxin.storage import choose_storage
    from anxin.storage_jobs import read_jobs

    settings = load_settings()
    with connect(settings.database_url, autocommit=True) as conn:
        console.print(f"storage: {detect_backend(conn).describe()}")
        try:
            console.print(f"why: {choose_storage(conn, settings.storage).reason}")
        except AnxinError as exc:
            console.print(f"[red]why: ANXIN_STORAGE={settings.storage} cannot start[/]: {exc}")
        jobs = read_jobs(conn=conn)
        if jobs is None:
            console.print("jobs: none (plain PostgreSQL: run 'anxin db maintain' daily)")
        else:
            console.print(_jobs_table(jobs))
        table = Table("table", "rows (estimate)")
        for name in (
            "devices",
            "reading_vitals",
            "reading_env",
            "reading_heartbeat",
            "device_event",
            "impact_window",
            "device_presence",
            "dead_letter",
        ):
            row = conn.execute(
                "SELECT greatest(reltuples, 0)::bigint::text FROM pg_class WHERE relname = %s",
                (name,),
            ).fetchone()
            table.add_row(name, str(row[0]) if row else "missing")
        console.print(table)


def _jobs_table(jobs: list[StorageJob]) -> Table:
    table = Table(
        "job",
        "policy",
        "last run",
        "result",
        "failures since success",
        "last error",
        title="TimescaleDB jobs",
    )
    for job in jobs:
        result = job.last_run_status or "not run yet"
        table.add_row(
            str(job.job_id),
            job.label,
            f"{job.last_run_started_at:%Y-%m-%d %H:%M}" if job.last_run_started_at else "-",
            f"[red]{result}[/]" if job.failing else result,
            str(job.failures_since_success),
            job.last_error or "",
        )
    return table


@db_app.command("maintain")
def db_maintain() -> None:
    """Apply retention on plain PostgreSQL (TimescaleDB runs its own policies) and bring the
    inspectors' statistics rollup up to date; run it daily."""
    from datetime import UTC, datetime

    from anxin.db import connect
    from anxin.maintenance import apply_retention
    from api.inspector.rollup import refresh as refresh_statistics

    settings = load_settings()
    with connect(settings.database_url) as conn:
        for table, deleted in apply_retention(conn=conn).items():
            console.print(f"{table}: {deleted} rows past retention deleted")
        conn.commit()
        months = refresh_statistics(conn=conn, now=datetime.now(UTC))
        console.print(f"statistics rollup: {months} site-months brought up to date")


@app.command("ingest")
def ingest() -> None:
    """Run an ingest worker until SIGTERM/SIGINT; it flushes and acknowledges before exiting."""
    from prometheus_client import start_http_server

    from anxin.db import wait_for_database
    from anxin.migrate import migrate, storage_options
    from ingest.service import IngestService

    settings = load_settings()
    wait_for_database(_admin_url(settings.database_url))
    report = migrate(settings.database_url, storage_options(settings))
    logging.getLogger("anxin").info(
        "storage: %s; why: %s", report.backend.describe(), report.choice.reason
    )
    if settings.ingest_metrics_port:
        start_http_server(settings.ingest_metrics_port, addr="0.0.0.0")
    service = IngestService(settings)
    service.start()
    _stop_on_signals(service.stop)
    service.wait()


@sites_app.command("add")
def sites_add(
    uid: str,
    name: str,
    kind: Annotated[str, typer.Option(help="care_home | home_alone | funeral")] = "care_home",
    region: Annotated[str, typer.Option(help="district/town/community")] = "",
) -> None:
    """Register a site."""
    from anxin.db import connect
    from anxin.registry import create_site

    settings = load_settings()
    with connect(settings.database_url) as conn:
        site = create_site(conn=conn, uid=uid, name=name, kind=kind, region=region)
        conn.commit()
    console.print(f"site {site.uid} ({site.kind}) created")


@devices_app.command("add")
def devices_add(
    uid: str,
    site: Annotated[str, typer.Option(help="uid of the site")],
    kind: Annotated[str, typer.Option(help="bracelet | smoke | heat | gas | co | multi")],
    heartbeat_s: Annotated[int, typer.Option(help="heartbeat interval, seconds")] = 60,
) -> None:
    """Register a device and print its MQTT password (shown once; only the hash is kept)."""
    from anxin.db import connect
    from anxin.registry import create_device

    settings = load_settings()
    with connect(settings.database_url) as conn:
        issued = create_device(
            conn=conn, uid=uid, site_uid=site, kind=kind, heartbeat_interval_s=heartbeat_s
        )
        conn.commit()
    console.print(f"device {uid} registered; run 'anxin devices broker-auth' to let it connect")
    typer.echo(f"password: {issued.password}")


@devices_app.command("list")
def devices_list(site: Annotated[str | None, typer.Option(help="only this site")] = None) -> None:
    """List registered devices."""
    from anxin.db import connect
    from anxin.registry import list_devices

    settings = load_settings()
    with connect(settings.database_url) as conn:
        devices = list_devices(conn=conn, site_uid=site)
    table = Table("uid", "site", "kind", "active", "heartbeat s", "credential")
    for d in devices:
        table.add_row(
            d.uid,
            d.site_uid,
            d.kind,
            str(d.active),
            str(d.heartbeat_interval_s),
            "yes" if d.mqtt_password_hash else "no",
        )
    Console().print(table)


@devices_app.command("rotate")
def devices_rotate(uid: str) -> None:
    """Issue a new MQTT password for a device (then run broker-auth)."""
    from anxin.db import connect
    from anxin.registry import rotate_credential

    settings = load_settings()
    with connect(settings.database_url) as conn:
        secret = rotate_credential(conn=conn, uid=uid)
        conn.commit()
    typer.echo(f"password: {secret}")


@devices_app.command("broker-auth")
def devices_broker_auth(
    passwd: Annotated[Path, typer.Option(help="Mosquitto password_file to write")] = Path(
        "deploy/mosquitto/passwd"
    ),
    acl: Annotated[Path, typer.Option(help="Mosquitto acl_file to write")] = Path(
        "deploy/mosquitto/acl"
    ),
    service: Annotated[
        list[str] | None,
        typer.Option(help="service account USER:PASSWORD that may read every device topic"),
    ] = None,
) -> None:
    """Write Mosquitto's password and ACL files from the registry (then SIGHUP Mosquitto)."""
    from anxin.broker_auth import ServiceAccount, acl_file, password_file, write_atomically
    from anxin.db import connect
    from anxin.registry import list_devices

    settings = load_settings()
    accounts = []
    for item in service or []:
        user, sep, secret = item.partition(":")
        if not sep or not user or not secret:
            raise typer.BadParameter(f"--service takes USER:PASSWORD (got {item!r})")
        accounts.append(ServiceAccount(user, secret))
    with connect(settings.database_url) as conn:
        devices = list_devices(conn=conn)
    write_atomically(passwd, password_file(devices, accounts))
    write_atomically(acl, acl_file(devices, accounts))
    active = sum(1 for d in devices if d.active and d.mqtt_password_hash)
    console.print(
        f"wrote {passwd} and {acl}: {active} devices, {len(accounts)} service accounts; "
        "reload Mosquitto with SIGHUP (docker compose kill -s HUP mosquitto)"
    )


def _admin_url(url: str) -> str:
    """The server-level URL (database 'postgres'), to wait for the server before the DB exists."""
    from anxin.db import with_database

    return with_database(url, "postgres")


def _stop_on_signals(stop: object) -> None:
    def handler(signum: int, frame: object) -> None:
        logging.getLogger("anxin").info("signal %d: shutting down", signum)
        stop()  # type: ignore[operator]

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


@bench_app.command("ingest")
def bench_ingest(
    messages: Annotated[int, typer.Option(help="single-reading messages")] = 200_000,
    batch_messages: Annotated[int, typer.Option(help="batched messages")] = 20_000,
    per_batch: Annotated[int, typer.Option(help="readings per batched message")] = 100,
    devices: Annotated[int, typer.Option(help="simulated bracelets")] = 500,
    publishers: Annotated[int, typer.Option(help="publishing processes")] = 2,
    workers: Annotated[
        int, typer.Option(help="ingest worker processes on a shared subscription (one per core)")
    ] = 2,
    rate: Annotated[float, typer.Option(help="offered messages/s in total (0: flat out)")] = 0,
    drain_messages: Annotated[
        int, typer.Option(help="messages queued while ingest is stopped, then drained (0: skip)")
    ] = 200_000,
    private_broker: Annotated[
        bool, typer.Option(help="start a tuned private Mosquitto (else use ANXIN_MQTT_URL)")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="last line: one JSON object")] = False,
) -> None:
    """Ingest throughput, publish→commit latency, loss, duplicates and memory."""
    from bench.ingest import BenchConfig, run

    settings = load_settings()
    config = BenchConfig(
        messages=messages,
        batch_messages=batch_messages,
        per_batch=per_batch,
        devices=devices,
        publishers=publishers,
        workers=workers,
        rate=rate,
        private_broker=private_broker,
        drain_messages=drain_messages,
    )
    result = run(settings, config, console)
    _report("anxin bench ingest", result, as_json=as_json)


@bench_app.command("history")
def bench_history(
    readings: Annotated[int, typer.Option(min=1000, help="readings to fill")] = 100_000_000,
    alarms: Annotated[int, typer.Option(min=1000, help="alarms to fill")] = 1_000_000,
    runs: Annotated[int, typer.Option(min=1, help="timed runs per query")] = 30,
    reuse: Annotated[bool, typer.Option(help="skip the fill if already filled alike")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="last line: one JSON object")] = False,
) -> None:
    """Inspector history and statistics queries over 100 M readings and 1 M alarms."""
    from bench.history import HistoryBenchConfig, run

    settings = load_settings()
    config = HistoryBenchConfig(readings=readings, alarms=alarms, runs=runs, reuse=reuse)
    result = run(settings, config, console)
    table = Table("query", "p50 ms", "p95 ms", title="anxin bench history")
    for who, part in (("inspector", result), ("admin", result["admin"])):
        for name, figures in part["queries"].items():
            table.add_row(f"{who}: {name}", str(figures["p50_ms"]), str(figures["p95_ms"]))
        table.add_row(f"{who}: all", str(part["p50_ms"]), str(part["p95_ms"]), end_section=True)
    console.print(table)
    if as_json:
        typer.echo(json.dumps(result))


@bench_app.command("alarms")
def bench_alarms(
    rate: Annotated[float, typer.Option(help="background readings/s")] = 10_000,
    duration: Annotated[float, typer.Option(min=10, help="seconds of background load")] = 30,
    alarms: Annotated[int, typer.Option(min=1, help="SOS presses injected")] = 100,
    devices: Annotated[int, typer.Option(min=2, help="background bracelets")] = 500,
    escalation_s: Annotated[float, typer.Option(help="delay of the measured tier 2")] = 2.0,
    load_nice: Annotated[
        int, typer.Option(help="niceness added to the simulated devices (0: equal share)")
    ] = 10,
    private_broker: Annotated[
        bool, typer.Option(help="start a tuned private Mosquitto (else use ANXIN_MQTT_URL)")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="last line: one JSON object")] = False,
) -> None:
    """Alarm latency under load: device publish → webhook and → SSE; escalation timer lag."""
    from bench.alarms import AlarmBenchConfig, run

    settings = load_settings()
    config = AlarmBenchConfig(
        rate=rate,
        duration_s=duration,
        alarms=alarms,
        devices=devices,
        escalation_s=escalation_s,
        private_broker=private_broker,
        load_nice=load_nice,
    )
    result = run(settings, config, console)
    _report("anxin bench alarms", result, as_json=as_json)


@app.command("demo")
def demo(
    duration: Annotated[float, typer.Option(help="seconds to run (0: until Ctrl-C)")] = 0,
    interval: Annotated[float, typer.Option(help="seconds between readings per device")] = 5,
    seed: Annotated[int, typer.Option(help="fleet and behaviour seed")] = 7,
    incidents: Annotated[
        bool, typer.Option(help="play an SOS, a gas leak and a real recorded fall")
    ] = True,
) -> None:
    """Run the platform with a demo fleet (care homes, seniors at home, a funeral home)."""
    from anxin.demo import run_demo
    from device_sim.models import FleetSpec

    settings = load_settings()
    # Each dead letter is counted in the demo's table; a line per message would bury it.
    logging.getLogger("ingest").setLevel(logging.WARNING)
    counts = run_demo(
        settings,
        FleetSpec(seed=seed),
        duration_s=duration,
        interval_s=interval,
        console=console,
        incidents=incidents,
    )
    for table, value in counts.items():
        typer.echo(f"{table}: {value}")


@app.command("deliver")
def deliver() -> None:
    """Run a delivery worker (drains the outbox) and an escalation scheduler until
    SIGTERM/SIGINT; run as many as needed."""
    import threading
    from contextlib import ExitStack

    from alerts.workers import start_delivery
    from anxin.db import wait_for_database
    from anxin.migrate import migrate, storage_options

    settings = load_settings()
    wait_for_database(_admin_url(settings.database_url))
    migrate(settings.database_url, storage_options(settings))
    stop = threading.Event()
    _stop_on_signals(stop.set)
    with ExitStack() as stack:
        start_delivery(settings, stack)
        stop.wait()


@app.command("api")
def api() -> None:
    """Serve the HTTP API (ANXIN_API_HOST:ANXIN_API_PORT) until SIGTERM/SIGINT."""
    from api.cli import serve

    serve(load_settings())


@app.command("alerts")
def alerts() -> None:
    """Run the detection worker (rules and fall model) until SIGTERM/SIGINT."""
    from prometheus_client import start_http_server

    from anxin.db import wait_for_database
    from anxin.migrate import migrate, storage_options
    from anxin.platform import build_alerts

    settings = load_settings()
    wait_for_database(_admin_url(settings.database_url))
    migrate(settings.database_url, storage_options(settings))
    if settings.alerts_metrics_port:
        start_http_server(settings.alerts_metrics_port, addr="0.0.0.0")
    service = build_alerts(settings)
    service.start()
    _stop_on_signals(service.stop)
    service.wait()


@sim_app.command("scenario")
def sim_scenario(
    files: Annotated[list[Path] | None, typer.Argument(help="scenario YAML files")] = None,
    all_shipped: Annotated[bool, typer.Option("--all", help="every shipped scenario")] = False,
    platform: Annotated[
        bool, typer.Option(help="run ingest and alerts in this process (else: already running)")
    ] = True,
) -> None:
    """Play scenarios against the platform; exit 1 if an expected alarm does not come in time."""
    from anxin.scenarios import run_scenarios
    from device_sim.scenario import shipped_scenarios

    settings = load_settings()
    paths = list(files or []) + (shipped_scenarios() if all_shipped else [])
    if not paths:
        raise typer.BadParameter("name scenario files or pass --all")
    if not run_scenarios(settings, paths, console, with_platform=platform):
        raise typer.Exit(1)


@sim_app.command("fleet")
def sim_fleet(
    interval: Annotated[float, typer.Option(help="seconds between readings per device")] = 5,
    seed: Annotated[int, typer.Option(help="fleet and behaviour seed")] = 7,
    incidents: Annotated[
        bool, typer.Option(help="play demo.yaml: an SOS, a gas leak and a recorded fall")
    ] = True,
) -> None:
    """Register the demo fleet and run its devices against a running platform until
    SIGTERM/SIGINT (what `anxin demo` runs beside the platform; compose's `sim` service)."""
    import threading
    from contextlib import ExitStack

    from anxin.db import wait_for_database
    from anxin.demo import start_fleet
    from anxin.migrate import migrate, storage_options
    from device_sim.models import FleetSpec

    settings = load_settings()
    wait_for_database(_admin_url(settings.database_url))
    migrate(settings.database_url, storage_options(settings))
    stop = threading.Event()
    _stop_on_signals(stop.set)
    with ExitStack() as stack:
        sim, devices = start_fleet(
            settings, FleetSpec(seed=seed), stack, interval_s=interval, incidents=incidents
        )
        console.print(f"fleet: {len(devices)} devices publishing every {interval:g} s")
        stop.wait()
    console.print(f"stopped after {sim.stats.published} messages")


@sim_app.command("load")
def sim_load(
    devices: Annotated[int, typer.Option(help="simulated bracelets")] = 1000,
    messages: Annotated[int, typer.Option(help="messages in total")] = 500_000,
    rate: Annotated[float, typer.Option(help="offered messages/s in total (0: flat out)")] = 0,
    batch: Annotated[int, typer.Option(help="readings per message (1: single readings)")] = 1,
    qos: Annotated[int, typer.Option(min=0, max=1, help="MQTT QoS")] = 1,
    publishers: Annotated[int, typer.Option(help="publishing processes (one per core)")] = 2,
    site: Annotated[str, typer.Option(help="site uid the load devices belong to")] = "load",
    register: Annotated[
        bool, typer.Option(help="register the devices so that ingest stores their readings")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="last line: one JSON object")] = False,
) -> None:
    """Load mode: N bracelets publishing vitals at a rate, batch size and QoS; prints the
    offered rate. Publishers connect one client per process, so run it against a broker that
    admits them (the local one; not the per-device ACL of production)."""
    from rich.progress import Progress

    from device_sim.load import run_load, split_plan

    settings = load_settings()
    uids = [f"{site}-{i:05d}" for i in range(devices)]
    if register:
        _register_load_devices(settings.database_url, site, uids)
    plans = split_plan(
        mqtt_url=settings.mqtt_url,
        site=site,
        devices=uids,
        messages=messages,
        per_message=batch,
        rate=rate,
        qos=qos,
        publishers=publishers,
    )
    with Progress(console=console) as bar:
        task = bar.add_task("published messages", total=messages)
        result = run_load(plans, lambda done, total: bar.update(task, completed=done, total=total))
    figures = result.figures()
    _report("anxin sim load", figures, as_json=as_json)


def _register_load_devices(database_url: str, site: str, uids: list[str]) -> None:
    from anxin import registry
    from anxin.db import connect, ensure_database_exists
    from anxin.migrate import migrate

    ensure_database_exists(database_url)
    migrate(database_url)
    with connect(database_url) as conn:
        if registry.get_site(conn=conn, uid=site) is None:
            registry.create_site(conn=conn, uid=site, name="Load test", kind="care_home")
        known = {d.uid for d in registry.list_devices(conn=conn, site_uid=site)}
        for uid in uids:
            if uid not in known:
                registry.create_device(
                    conn=conn, uid=uid, site_uid=site, kind="bracelet", password="load"
                )
        conn.commit()


@sim_app.command("week")
def sim_week(
    residents: Annotated[int, typer.Option(help="bracelet wearers")] = 100,
    days: Annotated[float, typer.Option(help="simulated days")] = 7,
    seed: Annotated[int, typer.Option(help="behaviour seed")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="last line: one JSON object")] = False,
) -> None:
    """A week of ordinary life (no incidents) through the rules: every safety alarm is false."""
    from rich.progress import Progress

    from device_sim.week import simulate_week

    load_settings()
    with Progress(console=console) as bar:
        task = bar.add_task("simulating", total=1)
        result = simulate_week(
            residents=residents,
            days=days,
            seed=seed,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    figures = {
        "residents": result.residents,
        "days": result.days,
        "readings": result.readings,
        "false_alarms": sum(result.safety.values()),
        "false_alarms_per_100_resident_days": round(result.false_alarms_per_100_resident_days, 3),
        "false_alarms_by_kind": dict(result.safety),
        "device_health_warnings": dict(result.device_health),
    }
    _report("anxin sim week", figures, as_json=as_json)
