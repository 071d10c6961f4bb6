"""Test helpers: a publishing device, an in-process ingest worker, polling."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import paho.mqtt.client as mqtt
import psycopg

from anxin import registry, wire
from anxin.mqtt import connect_and_wait, make_client
from anxin.platform import Platform
from anxin.settings import Settings, parse_mqtt_url
from ingest.service import IngestService


def wait_until(predicate: Callable[[], bool], *, timeout_s: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what or predicate}")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def count(db_url: str, query: str, *params: object) -> int:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(query, params).fetchone()  # type: ignore[arg-type]
        return int(row[0]) if row else 0


def register_bracelet(
    db_url: str, *, site: str | None = None, device: str | None = None, kind: str = "bracelet"
) -> tuple[str, str]:
    """A site with one device; unique uids so stray messages of other tests cannot collide."""
    site = site or f"site-{uuid.uuid4().hex[:8]}"
    device = device or f"dev-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url) as conn:
        if registry.get_site(conn=conn, uid=site) is None:
            registry.create_site(conn=conn, uid=site, name=site, kind="care_home")
        registry.create_device(conn=conn, uid=device, site_uid=site, kind=kind)
        conn.commit()
    return site, device


class Publisher:
    """A device-like MQTT v5 client that waits for each PUBACK."""

    def __init__(self, mqtt_url: str, *, client_id: str | None = None, persistent: bool = False):
        self.endpoint = parse_mqtt_url(mqtt_url)
        self.client = make_client(self.endpoint, client_id or f"pub-{uuid.uuid4().hex[:8]}")
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        connect_and_wait(self.client, self.endpoint, persistent=persistent)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, wait: bool = True) -> Any:
        info = self.client.publish(topic, payload, qos=qos)
        if wait:
            info.wait_for_publish(timeout=10)
        return info

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def vitals(seq: int, *, ts: int | None = None, hr: int = 72) -> bytes:
    return wire.encode(wire.Vitals(seq=seq, ts=ts if ts is not None else now_ms(), hr=hr))


def drop_session(mqtt_url: str, client_id: str) -> None:
    """Remove a persistent session left on the shared broker by a test."""
    endpoint = parse_mqtt_url(mqtt_url)
    client = make_client(endpoint, client_id)
    connect_and_wait(client, endpoint, persistent=False)
    client.disconnect()
    client.loop_stop()


class IngestHarness:
    """An in-process ingest worker with a unique client id and share group."""

    def __init__(self, *, db_url: str, mqtt_url: str, **overrides: Any) -> None:
        tag = uuid.uuid4().hex[:8]
        self.mqtt_url = mqtt_url
        self.settings = Settings(
            database_url=db_url,
            mqtt_url=mqtt_url,
            ingest_client_id=f"test-ingest-{tag}",
            ingest_share_group=f"test{tag}",
            ingest_metrics_port=0,
            ingest_batch_wait_ms=20,
            **overrides,
        )
        self.service = IngestService(self.settings)

    def start(self) -> None:
        self.service.start()

    def close(self) -> None:
        self.service.stop()
        drop_session(self.mqtt_url, self.settings.ingest_client_id)


@contextmanager
def running_platform(db_url: str, mqtt_url: str, **overrides: Any) -> Iterator[Platform]:
    """ingest and alerts in this process, with client ids and a share group no other test uses
    (every worker on the shared broker hears every topic); their sessions are dropped after."""
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        database_url=db_url,
        mqtt_url=mqtt_url,
        ingest_client_id=f"test-ingest-{tag}",
        ingest_share_group=f"test{tag}",
        alerts_client_id=f"test-alerts-{tag}",
        ingest_metrics_port=0,
        alerts_metrics_port=0,
        ingest_batch_wait_ms=20,
        **overrides,
    )
    platform = Platform(settings)
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()
        drop_session(mqtt_url, settings.ingest_client_id)
        drop_session(mqtt_url, settings.alerts_client_id)


def on_messages(client: mqtt.Client, sink: list[mqtt.MQTTMessage]) -> None:
    client.on_message = lambda c, u, m: sink.append(m)
