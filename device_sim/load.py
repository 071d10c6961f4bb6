"""Load mode: publisher processes, each a set of devices with its own MQTT client and in-flight
window; used by `anxin sim load` and the benchmarks."""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized

from anxin import wire
from anxin.mqtt import connect_and_wait, make_client
from anxin.settings import parse_mqtt_url

INFLIGHT = 50


@dataclass(frozen=True)
class LoadPlan:
    """What one publisher process sends: ``messages`` messages round-robin over its devices."""

    mqtt_url: str
    site: str
    devices: list[str]
    messages: int
    per_message: int
    rate: float
    qos: int
    client_id: str
    seq_offset: int = 0
    nice: int = 0
    """Added to the publisher process's niceness: a benchmark that shares the machine with the
    platform lowers the simulated devices, which in a deployment run elsewhere."""


def build_payload(seq: int, ts: int, per_message: int) -> tuple[str, bytes]:
    """A single vitals reading, or a batch of ``per_message`` with consecutive sequence numbers."""
    if per_message == 1:
        return "reading", wire.encode(wire.Vitals(seq=seq, ts=ts, hr=60 + seq % 40, spo2=97))
    readings: list[wire.Reading] = [
        wire.Vitals(seq=seq * per_message + i, ts=ts, hr=60 + i % 40, spo2=97)
        for i in range(per_message)
    ]
    return "batch", wire.encode(wire.Batch(readings=readings))


def publish(plan: LoadPlan, progress: Synchronized[int]) -> None:
    """Publish the plan at ``rate`` messages/s (0: as fast as the broker takes them)."""
    if plan.nice:
        os.nice(plan.nice)
    endpoint = parse_mqtt_url(plan.mqtt_url)
    client = make_client(endpoint, plan.client_id)
    client.max_inflight_messages_set(INFLIGHT)
    client.max_queued_messages_set(0)
    # paho rescans its whole outgoing queue on every PUBACK, so the cost of an acknowledgement
    # grows with the messages unacknowledged: a small window (50: 30k msg/s from two processes
    # here, against 15k with 100 and 6k with 2000) keeps it cheap; loopback round trips are short.
    window = threading.Semaphore(INFLIGHT)
    acked = threading.Semaphore(0)

    def on_publish(*_: object) -> None:
        window.release()
        acked.release()

    client.on_publish = on_publish
    connect_and_wait(client, endpoint, persistent=True)
    started = time.perf_counter()
    n_dev = len(plan.devices)
    deadline = time.monotonic() + 300
    for i in range(plan.messages):
        device = plan.devices[i % n_dev]
        seq = plan.seq_offset + i // n_dev
        channel, payload = build_payload(seq, time.time_ns() // 1_000_000, plan.per_message)
        if plan.qos and not window.acquire(timeout=max(deadline - time.monotonic(), 0)):
            raise TimeoutError(f"{plan.client_id}: no PUBACK for 300 s")
        # A publish while the broker is away is kept by paho and sent after reconnecting.
        client.publish(wire.topic(plan.site, device, channel), payload, qos=plan.qos)
        if plan.rate and i % 100 == 0:
            ahead = i / plan.rate - (time.perf_counter() - started)
            if ahead > 0:
                time.sleep(ahead)
        if i % 1000 == 999:
            with progress.get_lock():
                progress.value += 1000
    deadline = time.monotonic() + 300
    for _ in range(plan.messages if plan.qos else 0):
        if not acked.acquire(timeout=max(deadline - time.monotonic(), 0)):
            raise TimeoutError(f"{plan.client_id}: PUBACKs missing after 300 s")
    with progress.get_lock():
        progress.value += plan.messages % 1000
    client.disconnect()
    client.loop_stop()


@dataclass(frozen=True)
class LoadResult:
    """What the publishers offered: every message was handed to the broker (and, at QoS 1,
    acknowledged by it) within ``seconds``."""

    messages: int
    readings: int
    seconds: float
    qos: int
    publishers: int

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds

    @property
    def readings_per_s(self) -> float:
        return self.readings / self.seconds

    def figures(self) -> dict[str, float | int]:
        return {
            "messages": self.messages,
            "readings": self.readings,
            "seconds": round(self.seconds, 2),
            "messages_per_s": round(self.messages_per_s),
            "readings_per_s": round(self.readings_per_s),
            "qos": self.qos,
            "publishers": self.publishers,
        }


def split_plan(
    *,
    mqtt_url: str,
    site: str,
    devices: list[str],
    messages: int,
    per_message: int,
    rate: float,
    qos: int,
    publishers: int,
    name: str = "load",
    seq_offset: int = 0,
    nice: int = 0,
) -> list[LoadPlan]:
    """Share devices, messages and rate between ``publishers`` processes (one client each)."""
    if publishers < 1 or len(devices) < publishers:
        raise ValueError("need at least one publisher and one device per publisher")
    share = len(devices) // publishers
    return [
        LoadPlan(
            mqtt_url=mqtt_url,
            site=site,
            devices=devices[i * share : (i + 1) * share],
            messages=messages // publishers,
            per_message=per_message,
            rate=rate / publishers,
            qos=qos,
            client_id=f"anxin-{name}-{i}-{os.getpid()}",
            seq_offset=seq_offset,
            nice=nice,
        )
        for i in range(publishers)
    ]


def run_load(plans: list[LoadPlan], progress: Callable[[int, int], None]) -> LoadResult:
    """Run the plans in parallel processes (Python publishes ~15k msg/s per core, so one
    process per core) and report the offered rate; ``progress(done, total)`` is polled."""
    ctx = mp.get_context("spawn")
    counter = ctx.Value("q", 0)
    procs = [ctx.Process(target=publish, args=(plan, counter)) for plan in plans]
    total = sum(p.messages for p in plans)
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    while any(proc.is_alive() for proc in procs):
        progress(counter.value, total)
        time.sleep(0.2)
    seconds = time.perf_counter() - started
    progress(counter.value, total)
    failed = [proc.exitcode for proc in procs if proc.exitcode]
    if failed:
        raise RuntimeError(
            f"{len(failed)} publisher process(es) failed (exit codes {failed}); "
            "check that the broker is reachable and accepts these clients"
        )
    return LoadResult(
        messages=total,
        readings=total * plans[0].per_message,
        seconds=seconds,
        qos=plans[0].qos,
        publishers=len(plans),
    )
