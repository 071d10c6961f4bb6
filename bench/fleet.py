"""Publishing processes for load benchmarks: each is a set of devices with its own MQTT client."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized

from anxin import wire
from anxin.mqtt import connect_and_wait, make_client
from anxin.settings import parse_mqtt_url

INFLIGHT = 2000


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
    endpoint = parse_mqtt_url(plan.mqtt_url)
    client = make_client(endpoint, plan.client_id)
    client.max_inflight_messages_set(INFLIGHT)
    client.max_queued_messages_set(0)
    # paho rescans its whole outgoing queue on every PUBACK, so publishing ahead of the
    # in-flight window makes a long run quadratic: keep at most INFLIGHT messages unacknowledged.
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
