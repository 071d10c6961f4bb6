"""``anxin bench ingest``: single-reading then batched messages through the real broker into the
real database, counted in the database afterwards.

A third phase, ``drain``, measures the ingest workers alone: they stop, the publishers queue
single-reading messages in the workers' persistent sessions, and the workers restart and empty
the queue. On a 2-core machine the live phases share the cores between publishers, broker,
ingest and PostgreSQL; the drain phase shows what ingest itself sustains.

Latency is measured on probe readings (one every 20 ms, from their own device, inside the same
stream): a trigger on the probe device's rows sends NOTIFY, which PostgreSQL delivers at commit,
so publish → notification is publish → commit, exactly.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from psycopg import sql
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from anxin import registry, wire
from anxin.db import connect, with_database
from anxin.localservers import PrivateMosquitto
from anxin.migrate import migrate
from anxin.mqtt import connect_and_wait, make_client
from anxin.settings import Settings, parse_mqtt_url
from device_sim.load import build_payload, publish, run_load, split_plan

SITE = "bench"
PROBE = "bench-probe"
CHANNEL = "anxin_bench_probe"


@dataclass
class PhaseResult:
    name: str
    messages: int
    readings: int
    seconds: float
    publish_seconds: float
    stored: int
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds

    @property
    def readings_per_s(self) -> float:
        return self.readings / self.seconds


@dataclass
class BenchConfig:
    messages: int
    batch_messages: int
    per_batch: int
    devices: int
    publishers: int
    workers: int
    rate: float
    private_broker: bool
    drain_messages: int = 0


def run(settings: Settings, config: BenchConfig, console: Console) -> dict[str, Any]:
    """Run both phases and return the figures (the JSON object of ``--json``)."""
    db_url = with_database(settings.database_url, "anxin_bench")
    _fresh_database(db_url)
    with tempfile.TemporaryDirectory(prefix="anxin-bench-") as tmp:
        broker = PrivateMosquitto(Path(tmp) / "mosquitto") if config.private_broker else None
        if broker is not None:
            broker.start()
        mqtt_url = broker.url if broker is not None else settings.mqtt_url
        devices = _register(db_url, config.devices)
        workers = _start_ingest(db_url, mqtt_url, config.workers, Path(tmp))
        try:
            _wait_ready(db_url, mqtt_url, console)
            single = _phase(
                "single", db_url, mqtt_url, devices, config, 1, config.messages, console
            )
            batched = _phase(
                "batched",
                db_url,
                mqtt_url,
                devices,
                config,
                config.per_batch,
                config.batch_messages,
                console,
            )
            rss_mb = max(_peak_rss_mb(w.pid) for w in workers)
            drain = None
            if config.drain_messages:
                workers, drain = _drain_phase(
                    db_url, mqtt_url, devices, config, workers, Path(tmp), console
                )
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(timeout=30)
            if broker is not None:
                broker.stop()
    drained = drain.messages if drain else 0
    lost, duplicated = _lost_and_duplicated(db_url, single.readings + batched.readings + drained)
    lat = np.array(single.latencies_ms + batched.latencies_ms)
    return {
        "messages_per_s": round(single.messages_per_s),
        "readings_per_s": round(batched.readings_per_s),
        "batched_messages_per_s": round(batched.messages_per_s),
        "p50_ms": round(float(np.percentile(lat, 50)), 1) if lat.size else None,
        "p99_ms": round(float(np.percentile(lat, 99)), 1) if lat.size else None,
        "single_p50_ms": _pct(single.latencies_ms, 50),
        "single_p99_ms": _pct(single.latencies_ms, 99),
        "batched_p50_ms": _pct(batched.latencies_ms, 50),
        "batched_p99_ms": _pct(batched.latencies_ms, 99),
        "lost": lost,
        "duplicated": duplicated,
        "rss_mb": round(rss_mb, 1),
        "messages": single.messages,
        "batched_readings": batched.readings,
        "single_publish_msgs_per_s": round(single.messages / single.publish_seconds),
        "drain_messages_per_s": round(drain.messages_per_s) if drain else None,
        "drain_messages": drained,
        "workers": config.workers,
        "publishers": config.publishers,
        "broker": "private tuned mosquitto" if config.private_broker else mqtt_url,
    }


def _pct(values: list[float], q: int) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def _fresh_database(db_url: str) -> None:
    name = str(psycopg.conninfo.conninfo_to_dict(db_url)["dbname"])
    with connect(with_database(db_url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
    migrate(db_url)


def _register(db_url: str, count: int) -> list[str]:
    with connect(db_url) as conn:
        registry.create_site(conn=conn, uid=SITE, name="Benchmark", kind="care_home")
        uids = [f"bench-{i:05d}" for i in range(count)]
        for uid in [*uids, PROBE]:
            registry.create_device(
                conn=conn, uid=uid, site_uid=SITE, kind="bracelet", password="bench"
            )
        probe = registry.get_device(conn=conn, uid=PROBE)
        assert probe is not None
        conn.execute(
            f"""CREATE FUNCTION bench_probe_notify() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN PERFORM pg_notify('{CHANNEL}', NEW.seq::text); RETURN NULL; END $$"""
        )
        conn.execute(
            f"""CREATE TRIGGER bench_probe AFTER INSERT ON reading_vitals FOR EACH ROW
                WHEN (NEW.device_id = {probe.id}) EXECUTE FUNCTION bench_probe_notify()"""
        )
        conn.commit()
    return uids


def _start_ingest(
    db_url: str, mqtt_url: str, workers: int, tmp: Path
) -> list[subprocess.Popen[bytes]]:
    procs = []
    for i in range(workers):
        env = dict(
            os.environ,
            ANXIN_DATABASE_URL=db_url,
            ANXIN_MQTT_URL=mqtt_url,
            ANXIN_INGEST_CLIENT_ID=f"bench-ingest-{i}",
            ANXIN_INGEST_METRICS_PORT="0",
            ANXIN_LOG_LEVEL="WARNING",
            ANXIN_INGEST_SHARE_GROUP="bench" if workers > 1 else "",
        )
        log = open(tmp / f"ingest-{i}.log", "wb")  # noqa: SIM115 - lives as long as the process
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "anxin", "ingest"], env=env, stdout=log, stderr=log
            )
        )
    return procs


def _wait_ready(db_url: str, mqtt_url: str, console: Console) -> None:
    """Send probes until one is stored: the workers are then subscribed and writing."""
    endpoint = parse_mqtt_url(mqtt_url)
    client = make_client(endpoint, "bench-warmup")
    connect_and_wait(client, endpoint, persistent=False)
    deadline = time.monotonic() + 60
    seq = 10**9
    while time.monotonic() < deadline:
        seq += 1
        _, payload = build_payload(seq, time.time_ns() // 1_000_000, 1)
        client.publish(wire.topic(SITE, PROBE, "reading"), payload, qos=1).wait_for_publish(5)
        time.sleep(0.5)
        with connect(db_url) as conn:
            row = conn.execute("SELECT count(*) FROM reading_vitals").fetchone()
        if row and row[0]:
            client.disconnect()
            client.loop_stop()
            return
    raise RuntimeError("ingest workers stored nothing within 60 s; see their logs")


class _Probe:
    """Publishes a probe reading every 20 ms and times its commit notification."""

    def __init__(self, db_url: str, mqtt_url: str, name: str) -> None:
        self.sent: dict[int, float] = {}
        self.latencies_ms: list[float] = []
        self._stop = threading.Event()
        self._listen = psycopg.connect(db_url, autocommit=True)
        self._listen.execute(f"LISTEN {CHANNEL}")
        endpoint = parse_mqtt_url(mqtt_url)
        self._client = make_client(endpoint, f"bench-probe-{name}")
        connect_and_wait(self._client, endpoint, persistent=False)
        self._threads = [
            threading.Thread(target=self._send, daemon=True),
            threading.Thread(target=self._receive, daemon=True),
        ]
        self._seq = {"single": 0, "batched": 10**6}[name]

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def _send(self) -> None:
        topic = wire.topic(SITE, PROBE, "reading")
        while not self._stop.wait(0.02):
            self._seq += 1
            _, payload = build_payload(self._seq, time.time_ns() // 1_000_000, 1)
            self.sent[self._seq] = time.perf_counter()
            self._client.publish(topic, payload, qos=1)

    def _receive(self) -> None:
        while not self._stop.is_set():
            for note in self._listen.notifies(timeout=0.2):
                at = time.perf_counter()
                sent = self.sent.get(int(note.payload))
                if sent is not None:
                    self.latencies_ms.append((at - sent) * 1000)

    def stop(self) -> None:
        time.sleep(0.5)
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self._client.disconnect()
        self._client.loop_stop()
        self._listen.close()


def _phase(
    name: str,
    db_url: str,
    mqtt_url: str,
    devices: list[str],
    config: BenchConfig,
    per_message: int,
    messages: int,
    console: Console,
) -> PhaseResult:
    expected_before = _stored(db_url)
    plans = split_plan(
        mqtt_url=mqtt_url,
        site=SITE,
        devices=devices,
        messages=messages,
        per_message=per_message,
        rate=config.rate,
        qos=1,
        publishers=config.publishers,
        name=f"bench-pub-{name}",
        seq_offset=0 if name == "single" else 10**6,
    )
    total_messages = sum(p.messages for p in plans)
    total_readings = total_messages * per_message
    probe = _Probe(db_url, mqtt_url, name)
    ctx = mp.get_context("spawn")
    progress_value = ctx.Value("q", 0)
    procs = [ctx.Process(target=publish, args=(plan, progress_value)) for plan in plans]
    probe.start()
    wall_start = time.time()
    started = time.perf_counter()
    for p in procs:
        p.start()
    published_at: float | None = None
    with Progress(
        TextColumn(f"[bold]{name}[/]"),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        pub_task = bar.add_task("published msgs", total=total_messages)
        store_task = bar.add_task("stored readings", total=total_readings)
        last_progress = time.perf_counter()
        last_stored = -1
        while True:
            bar.update(pub_task, completed=progress_value.value)
            if published_at is None and not any(p.is_alive() for p in procs):
                published_at = time.perf_counter()
            stored = _stored(db_url) - expected_before - len(probe.latencies_ms)
            bar.update(store_task, completed=max(stored, 0))
            if stored >= total_readings and published_at is not None:
                break
            if stored != last_stored:
                last_stored, last_progress = stored, time.perf_counter()
            elif time.perf_counter() - last_progress > 30:
                console.print(f"[red]{name}: no progress for 30 s at {stored}/{total_readings}")
                break
            time.sleep(0.2)
    probe.stop()
    with connect(db_url) as conn:
        row = conn.execute(
            "SELECT extract(epoch FROM max(received_at)) FROM reading_vitals"
        ).fetchone()
    last_commit = float(row[0]) if row and row[0] else time.time()
    return PhaseResult(
        name=name,
        messages=total_messages,
        readings=total_readings,
        seconds=last_commit - wall_start,
        publish_seconds=(published_at or time.perf_counter()) - started,
        stored=stored,
        latencies_ms=probe.latencies_ms,
    )


def _drain_phase(
    db_url: str,
    mqtt_url: str,
    devices: list[str],
    config: BenchConfig,
    workers: list[subprocess.Popen[bytes]],
    tmp: Path,
    console: Console,
) -> tuple[list[subprocess.Popen[bytes]], PhaseResult]:
    """Queue messages while the workers are away, then time how fast they empty the queue:
    from the first commit after the restart until everything is stored."""
    for worker in workers:
        worker.terminate()
        worker.wait(timeout=60)
    before = _stored(db_url)
    plans = split_plan(
        mqtt_url=mqtt_url,
        site=SITE,
        devices=devices,
        messages=config.drain_messages,
        per_message=1,
        rate=0,
        qos=1,
        publishers=config.publishers,
        name="bench-pub-drain",
        seq_offset=2 * 10**6,
    )
    total = sum(p.messages for p in plans)
    with Progress(
        TextColumn("[bold]drain[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        queued = bar.add_task("queued while ingest is stopped", total=total)
        run_load(plans, lambda done, _: bar.update(queued, completed=done))
        restarted_at = time.time()
        restarted = _start_ingest(db_url, mqtt_url, config.workers, tmp)
        stored_task = bar.add_task("stored after restart", total=total)
        stored, last_change, last = 0, time.perf_counter(), -1
        while stored < total and time.perf_counter() - last_change < 60:
            time.sleep(0.1)
            stored = _stored(db_url) - before
            bar.update(stored_task, completed=stored)
            if stored != last:
                last, last_change = stored, time.perf_counter()
    done_at = time.time()
    with connect(db_url) as conn:
        row = conn.execute(
            """SELECT extract(epoch FROM min(received_at)) FROM reading_vitals
               WHERE received_at >= to_timestamp(%s)""",
            (restarted_at,),
        ).fetchone()
    first_commit = float(row[0]) if row and row[0] else done_at
    return restarted, PhaseResult(
        name="drain",
        messages=total,
        readings=total,
        seconds=max(done_at - first_commit, 1e-3),
        publish_seconds=0.0,
        stored=stored,
    )


def _stored(db_url: str) -> int:
    with connect(db_url) as conn:
        row = conn.execute("SELECT count(*) FROM reading_vitals").fetchone()
    return int(row[0]) if row else 0


def _lost_and_duplicated(db_url: str, expected: int) -> tuple[int, int]:
    """Compare what was sent (per device, by sequence) with what the database holds."""
    with connect(db_url) as conn:
        row = conn.execute(
            """SELECT count(*), count(DISTINCT (device_id, seq))
               FROM reading_vitals v JOIN devices d ON d.id = v.device_id
               WHERE d.uid <> %s""",
            (PROBE,),
        ).fetchone()
    assert row is not None
    rows, distinct = int(row[0]), int(row[1])
    return max(expected - distinct, 0), rows - distinct


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        pass
    return float("nan")
