"""``anxin bench alarms``: device publish → webhook received and → SSE event received, under
background load through the real broker.

Everything runs as in production, each in its own process: ``anxin ingest``, ``anxin alerts``,
``anxin deliver`` (delivery worker and escalation scheduler) and ``anxin api``, against a fresh
database and (by default) a private Mosquitto. Background publishers (``device_sim.load``)
offer ``rate`` vitals readings/s from ``devices`` bracelets; meanwhile ``alarms`` SOS presses,
each from its own wearer's bracelet, are published at even intervals. The duty staff's webhook
is a real HTTP server in this process, the console a real SSE client with an admin API key.

Figures: publish → webhook and publish → SSE percentiles; ``lost``: SOS presses that reached
neither path (or only one) within the grace period; the escalation timers under the same load
(tier 2 at ``escalation_s``): lag of firing and of the supervisor's webhook behind schedule.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.json import Jsonb
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from alerts.policies import Step, set_policy
from anxin import registry, wire
from anxin.db import connect, with_database
from anxin.localservers import PrivateMosquitto, free_port, wait_for_port
from anxin.migrate import migrate
from anxin.mqtt import connect_and_wait, make_client
from anxin.settings import Settings, parse_mqtt_url
from bench.alarm_probes import SseClient, WebhookReceiver
from device_sim.load import run_load, split_plan

SITE = "bench-alarms"
WEBHOOK_SECRET = secrets.token_hex(32)
GRACE_S = 10.0


@dataclass(frozen=True)
class AlarmBenchConfig:
    rate: float = 10_000
    duration_s: float = 30.0
    alarms: int = 100
    devices: int = 500
    publishers: int = 2
    escalation_s: float = 2.0
    private_broker: bool = True
    load_nice: int = 10
    """The simulated devices yield the CPU to the platform, as devices elsewhere would not take
    it; the offered rate they still reach is reported beside the latency."""


@dataclass
class _Stack:
    processes: dict[str, subprocess.Popen[bytes]]
    logs: Path
    api_port: int


def run(settings: Settings, config: AlarmBenchConfig, console: Console) -> dict[str, Any]:
    """Run the benchmark and return its figures (the JSON object of ``--json``)."""
    if config.alarms < 1 or config.duration_s < 10:
        raise ValueError("give at least one alarm and a duration of at least 10 s")
    db_url = with_database(settings.database_url, "anxin_bench_alarms")
    _fresh_database(db_url)
    receiver = WebhookReceiver(WEBHOOK_SECRET)
    receiver.start()
    with tempfile.TemporaryDirectory(prefix="anxin-bench-alarms-") as tmp:
        broker = PrivateMosquitto(Path(tmp) / "mosquitto") if config.private_broker else None
        if broker is not None:
            broker.start()
        mqtt_url = broker.url if broker is not None else settings.mqtt_url
        background, wearers = _register(db_url, config, receiver.base_url)
        api_key = _api_key(db_url)
        stack = _start(db_url, mqtt_url, Path(tmp))
        sse = SseClient("127.0.0.1", stack.api_port, api_key, kind="sos")
        cpu: dict[str, float] = {}
        try:
            _warm_up(mqtt_url, receiver, wearers["warmup"], console, stack)
            sse.start()
            sse.connected.wait(30)
            if sse.error:
                raise RuntimeError(f"the SSE stream failed: {sse.error}")
            published, offered = _load_and_inject(mqtt_url, background, wearers, config, console)
            _wait_for_deliveries(receiver, sse, published, console)
        finally:
            # Every step runs even if one before it fails: a worker left running would go on
            # draining the next run's database with this run's secret.
            with ExitStack() as cleanup:
                if broker is not None:
                    cleanup.callback(broker.stop)
                cleanup.callback(receiver.stop)
                cleanup.callback(lambda: cpu.update(_stop(stack)))
                cleanup.callback(sse.stop)
    figures = _figures(db_url, config, receiver, sse, published, wearers, offered)
    return {**figures, **{f"cpu_s_{name}": seconds for name, seconds in cpu.items()}}


def _fresh_database(db_url: str) -> None:
    name = str(conninfo_to_dict(db_url)["dbname"])
    with connect(with_database(db_url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    migrate(db_url)


def _register(
    db_url: str, config: AlarmBenchConfig, webhook_base: str
) -> tuple[list[str], dict[str, int]]:
    """Background bracelets; one bracelet and wearer per SOS (plus a warm-up one), so each
    press opens its own alarm; duty staff and a supervisor with webhooks; a site policy with
    tier 2 after ``escalation_s``."""
    with connect(db_url) as conn:
        site = registry.create_site(conn=conn, uid=SITE, name="Alarm benchmark", kind="care_home")
        background = [f"bg-{i:05d}" for i in range(config.devices)]
        for uid in background:
            registry.create_device(
                conn=conn, uid=uid, site_uid=SITE, kind="bracelet", password="bench"
            )
        wearers: dict[str, int] = {}
        for i in ["warmup", *[f"{n:04d}" for n in range(config.alarms)]]:
            resident = registry.create_resident(
                conn=conn, uid=f"w-{i}", site_uid=SITE, name=f"Wearer {i}"
            )
            registry.create_device(
                conn=conn,
                uid=f"sos-{i}",
                site_uid=SITE,
                kind="bracelet",
                resident_id=resident,
                password="bench",
            )
            wearers[f"sos-{i}"] = resident
        for name, role in [("Duty", "duty"), ("Supervisor", "supervisor")]:
            conn.execute(
                "INSERT INTO staff (site_id, name, role, channels) VALUES (%s, %s, %s, %s)",
                (
                    site.id,
                    name,
                    role,
                    Jsonb([{"kind": "webhook", "url": f"{webhook_base}/{role}"}]),
                ),
            )
        set_policy(
            conn=conn,
            site_id=site.id,
            steps=[Step(1, 0, ("duty",)), Step(2, config.escalation_s, ("supervisor",))],
            note="benchmark",
        )
        conn.commit()
    return background, {k.removeprefix("sos-"): v for k, v in wearers.items()}


def _api_key(db_url: str) -> str:
    from api.accounts import create_api_key, create_user

    with connect(db_url) as conn:
        user = create_user(
            conn=conn, username="bench", password=secrets.token_urlsafe(16), role="admin"
        )
        _, key = create_api_key(conn=conn, user_id=user, name="bench alarms")
        conn.commit()
    return key


def _start(db_url: str, mqtt_url: str, tmp: Path) -> _Stack:
    api_port = free_port()
    env = dict(
        os.environ,
        ANXIN_DATABASE_URL=db_url,
        ANXIN_MQTT_URL=mqtt_url,
        ANXIN_LOG_LEVEL="WARNING",
        ANXIN_INGEST_CLIENT_ID="bench-alarms-ingest",
        ANXIN_INGEST_METRICS_PORT="0",
        ANXIN_ALERTS_CLIENT_ID="bench-alarms-alerts",
        ANXIN_DELIVERY_WEBHOOK_SECRET=WEBHOOK_SECRET,
        ANXIN_PUBLIC_URL=f"http://127.0.0.1:{api_port}",
        ANXIN_ACK_SECRET=secrets.token_hex(32),
        ANXIN_API_SECRET=secrets.token_urlsafe(32),
        ANXIN_API_PORT=str(api_port),
        ANXIN_API_COOKIE_SECURE="false",
    )
    processes = {}
    for name in ("ingest", "alerts", "deliver", "api"):
        log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 - lives as long as the process
        processes[name] = subprocess.Popen(
            [sys.executable, "-m", "anxin", name], env=env, stdout=log, stderr=log
        )
    wait_for_port(api_port, timeout_s=60)
    return _Stack(processes=processes, logs=tmp, api_port=api_port)


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(stack: _Stack) -> dict[str, float]:
    """Stop the platform; returns the CPU seconds each process used."""
    cpu = {name: round(_cpu_s(p.pid), 1) for name, p in stack.processes.items()}
    for process in stack.processes.values():
        process.terminate()
    for process in stack.processes.values():
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    return cpu


def _sos(client: Any, device: str, seq: int) -> float:
    """Publish one SOS press; returns the wall-clock time just before the publish."""
    payload = wire.encode(wire.Event(seq=seq, ts=time.time_ns() // 1_000_000, event="sos"))
    at = time.time()
    client.publish(wire.topic(SITE, device, "reading"), payload, qos=1)
    return at


def _warm_up(
    mqtt_url: str, receiver: WebhookReceiver, resident: int, console: Console, stack: _Stack
) -> None:
    """Press SOS on the warm-up bracelet until its webhook arrives: every worker is then
    subscribed, connected and past its first-use costs."""
    endpoint = parse_mqtt_url(mqtt_url)
    client = make_client(endpoint, "bench-alarms-warmup")
    connect_and_wait(client, endpoint, persistent=False)
    deadline = time.monotonic() + 90
    seq = 0
    with console.status("waiting for ingest, alerts, delivery and the API to come up"):
        while resident not in receiver.arrivals.get("/duty", {}):
            dead = [n for n, p in stack.processes.items() if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                tails = {n: (stack.logs / f"{n}.log").read_text()[-1500:] for n in dead}
                raise RuntimeError(f"the platform did not come up (exited: {dead}): {tails}")
            seq += 1
            _sos(client, "sos-warmup", seq)
            time.sleep(1.0)
    client.disconnect()
    client.loop_stop()


def _load_and_inject(
    mqtt_url: str,
    background: list[str],
    wearers: dict[str, int],
    config: AlarmBenchConfig,
    console: Console,
) -> tuple[dict[int, float], float]:
    """Background load for ``duration_s``; SOS presses at even intervals in its middle part.
    Returns publish times by resident and the offered background rate."""
    plans = split_plan(
        mqtt_url=mqtt_url,
        site=SITE,
        devices=background,
        messages=int(config.rate * config.duration_s),
        per_message=1,
        rate=config.rate,
        qos=1,
        publishers=config.publishers,
        name="bench-alarms-bg",
        nice=config.load_nice,
    )
    offered: list[float] = []
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        load_task = bar.add_task("background readings", total=sum(p.messages for p in plans))
        sos_task = bar.add_task("SOS presses", total=config.alarms)

        def load() -> None:
            result = run_load(plans, lambda done, _: bar.update(load_task, completed=done))
            offered.append(result.messages_per_s)

        loader = threading.Thread(target=load)
        loader.start()
        endpoint = parse_mqtt_url(mqtt_url)
        client = make_client(endpoint, "bench-alarms-sos")
        connect_and_wait(client, endpoint, persistent=False)
        time.sleep(3.0)  # publishers connected and at rate
        spacing = max(config.duration_s - 6.0, 1.0) / config.alarms
        published: dict[int, float] = {}
        for n in range(config.alarms):
            key = f"{n:04d}"
            published[wearers[key]] = _sos(client, f"sos-{key}", 1)
            bar.update(sos_task, completed=n + 1)
            time.sleep(spacing)
        loader.join()
        client.disconnect()
        client.loop_stop()
    return published, offered[0] if offered else 0.0


def _wait_for_deliveries(
    receiver: WebhookReceiver, sse: SseClient, published: dict[int, float], console: Console
) -> None:
    deadline = time.monotonic() + GRACE_S
    with console.status("waiting for the last deliveries"):
        while time.monotonic() < deadline:
            duty = receiver.arrivals.get("/duty", {})
            supervisor = receiver.arrivals.get("/supervisor", {})
            if all(r in duty and r in sse.arrivals and r in supervisor for r in published):
                return
            time.sleep(0.2)


def _latencies(arrivals: dict[int, float], published: dict[int, float]) -> list[float]:
    return [(arrivals[r] - at) * 1000 for r, at in published.items() if r in arrivals]


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def _figures(
    db_url: str,
    config: AlarmBenchConfig,
    receiver: WebhookReceiver,
    sse: SseClient,
    published: dict[int, float],
    wearers: dict[str, int],
    offered: float,
) -> dict[str, Any]:
    duty = receiver.arrivals.get("/duty", {})
    webhook = _latencies(duty, published)
    stream = _latencies(sse.arrivals, published)
    both = [
        (max(duty[r], sse.arrivals[r]) - at) * 1000
        for r, at in published.items()
        if r in duty and r in sse.arrivals
    ]
    lost = sum(1 for r in published if r not in duty or r not in sse.arrivals)
    with connect(db_url) as conn:
        timer = conn.execute(
            """SELECT extract(epoch FROM t.fired_at - t.due_at) * 1000, a.subject_id,
                      extract(epoch FROM t.due_at)
               FROM escalation_timers t JOIN alarms a ON a.id = t.alarm_id
               WHERE t.tier = 2 AND t.state = 'fired' AND a.kind = 'sos'
                 AND a.subject_id <> %s""",
            (wearers["warmup"],),
        ).fetchall()
        stored = conn.execute("SELECT count(*) FROM reading_vitals").fetchone()
    fire_lag = [float(r[0]) for r in timer]
    supervisor = receiver.arrivals.get("/supervisor", {})
    told_lag = [(supervisor[r[1]] - float(r[2])) * 1000 for r in timer if r[1] in supervisor]
    return {
        "p50_ms": _pct(both, 50),
        "p99_ms": _pct(both, 99),
        "lost": lost,
        "alarms": len(published),
        "webhook_p50_ms": _pct(webhook, 50),
        "webhook_p99_ms": _pct(webhook, 99),
        "webhook_max_ms": _pct(webhook, 100),
        "webhook_received": len(webhook),
        "sse_p50_ms": _pct(stream, 50),
        "sse_p99_ms": _pct(stream, 99),
        "sse_max_ms": _pct(stream, 100),
        "sse_received": len(stream),
        "escalations_fired": len(fire_lag),
        "escalation_fire_lag_p50_ms": _pct(fire_lag, 50),
        "escalation_fire_lag_max_ms": _pct(fire_lag, 100),
        "escalation_webhook_lag_p50_ms": _pct(told_lag, 50),
        "escalation_webhook_lag_max_ms": _pct(told_lag, 100),
        "bad_signatures": receiver.bad_signatures,
        "background_offered_msgs_per_s": round(offered),
        "background_readings_stored": int(stored[0]) if stored else 0,
        "background_target_msgs_per_s": round(config.rate),
        "broker": "private tuned mosquitto" if config.private_broker else "ANXIN_MQTT_URL",
    }
