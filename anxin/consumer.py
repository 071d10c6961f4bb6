"""At-least-once MQTT consumption in batches: the shared engine of ingest and alerts.

paho's network thread only appends each message to the open batch. A worker thread closes the
batch when it holds ``batch_rows`` messages or its oldest message has waited ``batch_wait_ms``,
hands it to the handler — which does its work and commits — and only then acknowledges every
message of the batch, in arrival order, with one socket write. When the handler raises
``psycopg.OperationalError`` (database down) the batch is retried with backoff and nothing is
acknowledged, so the broker keeps the messages; the MQTT v5 Receive Maximum bounds how many this
process holds meanwhile. A kill at any moment loses nothing: unacknowledged messages are
redelivered, and handlers make their writes idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt
import psycopg

from anxin.errors import BrokerUnavailable
from anxin.mqtt import connect_and_wait, make_client
from anxin.mqtt_buffered import BufferedClient
from anxin.settings import MqttEndpoint

logger = logging.getLogger(__name__)

_BACKOFF_MAX_S = 10.0
_SHUTDOWN_GRACE_S = 10.0
_SUBSCRIBE_TIMEOUT_S = 10.0
_ACL_HINT = "(the ACL written by 'anxin devices broker-auth')"


@dataclass(frozen=True, slots=True)
class Message:
    """One MQTT message as received; ``mid`` is what is acknowledged after the commit."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    received_ns: int


class BatchHandler(Protocol):
    """The work done on each batch; it must commit before returning."""

    def open(self) -> None:
        """Connect what the handler needs; called before consuming and after ``reset``."""

    def handle(self, batch: list[Message]) -> None:
        """Process and commit; raise ``psycopg.OperationalError`` to have the batch retried."""

    def reset(self) -> None:
        """Forget a broken connection after ``handle`` failed."""

    def close(self) -> None:
        """Release everything at shutdown."""


@dataclass(frozen=True)
class ConsumerConfig:
    name: str
    client_id: str
    subscription: str
    batch_rows: int
    batch_wait_ms: int
    receive_maximum: int
    stale_subscriptions: tuple[str, ...] = ()


class BatchConsumer:
    """Runs a handler over batches of one subscription with a persistent MQTT session."""

    def __init__(self, endpoint: MqttEndpoint, config: ConsumerConfig, handler: BatchHandler):
        self._endpoint = endpoint
        self._config = config
        self._handler = handler
        self._cond = threading.Condition()
        self._open: list[Message] = []
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._client: BufferedClient | None = None
        self._worker: threading.Thread | None = None
        self._connected_once = False
        self._subscribed = threading.Event()
        self._failure: BrokerUnavailable | None = None

    def start(self) -> None:
        """Open the handler first, so nothing is received that could not be processed."""
        self._handler.open()
        self._worker = threading.Thread(target=self._work, name=self._config.name, daemon=True)
        self._worker.start()
        client = make_client(self._endpoint, self._config.client_id, manual_ack=True)
        client.on_message = self._on_message
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        connect_and_wait(
            client,
            self._endpoint,
            persistent=True,
            receive_maximum=self._config.receive_maximum,
        )
        # A new session receives nothing published before the broker acknowledged the
        # subscription: callers (the demo, tests, scenario runs) may publish right after start().
        self._client = client
        if not self._subscribed.wait(_SUBSCRIBE_TIMEOUT_S):
            self._failure = BrokerUnavailable(
                f"the broker did not acknowledge the subscription {self._config.subscription!r} "
                f"within {_SUBSCRIBE_TIMEOUT_S:g} s; check that this account may subscribe to "
                f"it {_ACL_HINT}"
            )
        if self._failure is not None:
            self.stop()
            raise self._failure
        logger.info(
            "%s %s consuming %s from %s:%d",
            self._config.name,
            self._config.client_id,
            self._config.subscription,
            self._endpoint.host,
            self._endpoint.port,
        )

    def stop(self) -> None:
        """Finish and acknowledge what was received, then disconnect."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join(timeout=_SHUTDOWN_GRACE_S + 5)
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
        self._handler.close()
        self._stopped.set()

    def wait(self) -> None:
        """Until stopped; raises ``BrokerUnavailable`` when the broker refused to go on serving
        the subscription, so the process exits non-zero and its supervisor restarts it."""
        self._stopped.wait()
        if self._failure is not None:
            raise self._failure

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, rc: Any, props: object
    ) -> None:
        if rc.is_failure:
            return
        if self._connected_once:
            logger.info("%s reconnected to the broker", self._config.name)
        self._connected_once = True
        client.subscribe(self._config.subscription, qos=1)
        # A persistent session keeps the subscriptions of earlier runs: after a switch between a
        # plain and a shared subscription both would deliver, and every message would come twice.
        for stale in self._config.stale_subscriptions:
            client.unsubscribe(stale)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: object, mid: int, reasons: list[Any], props: object
    ) -> None:
        """A refused subscription would leave the service running and receiving nothing: at
        start, ``start`` raises; after a reconnect (``start`` has returned) the consumer stops,
        from another thread because this one is paho's, and ``wait`` raises."""
        refused = [reason for reason in reasons if reason.is_failure]
        if refused:
            subscription, reason = self._config.subscription, refused[0]
            if not self._subscribed.is_set():
                self._failure = BrokerUnavailable(
                    f"the broker refused ({reason}) the subscription {subscription!r}; check "
                    f"that this account may subscribe to it {_ACL_HINT}"
                )
            else:
                self._failure = BrokerUnavailable(
                    f"the broker refused the subscription {subscription!r} after a reconnect "
                    f"({reason}); check that this account may still subscribe to it {_ACL_HINT}"
                )
                logger.error("%s: %s; stopping", self._config.name, self._failure)
                threading.Thread(target=self.stop, name="consumer-stop", daemon=True).start()
        self._subscribed.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: object, rc: Any, props: object
    ) -> None:
        if not self._stop.is_set():
            logger.warning(
                "%s lost the broker connection (%s); paho reconnects", self._config.name, rc
            )

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        message = Message(msg.topic, bytes(msg.payload), msg.mid, msg.qos, time.monotonic_ns())
        with self._cond:
            self._open.append(message)
            size = len(self._open)
            if size == 1 or size >= self._config.batch_rows:
                self._cond.notify()

    def _take_batch(self) -> list[Message] | None:
        """Wait until the open batch is full or its oldest message is due; None at shutdown."""
        wait_ns = self._config.batch_wait_ms * 1_000_000
        with self._cond:
            while not self._open:
                if self._stop.is_set():
                    return None
                self._cond.wait(0.2)
            while not self._stop.is_set() and len(self._open) < self._config.batch_rows:
                remaining = self._open[0].received_ns + wait_ns - time.monotonic_ns()
                if remaining <= 0:
                    break
                self._cond.wait(remaining / 1e9)
            batch, self._open = self._open, []
        return batch

    def _work(self) -> None:
        try:
            while (batch := self._take_batch()) is not None:
                if not self._handle_with_retry(batch):
                    return
                if self._client is not None:
                    self._client.ack_many([m.mid for m in batch if m.qos == 1])
        except Exception:
            logger.exception(
                "%s worker crashed; nothing after this batch is acknowledged", self._config.name
            )
            raise

    def _handle_with_retry(self, batch: list[Message]) -> bool:
        """Process a batch, retrying on connection errors; False if shutdown came first."""
        backoff = 0.25
        give_up_at: float | None = None
        while True:
            try:
                self._handler.handle(batch)
                return True
            except psycopg.OperationalError as exc:
                self._handler.reset()
                if self._stop.is_set():
                    give_up_at = give_up_at or time.monotonic() + _SHUTDOWN_GRACE_S
                    if time.monotonic() > give_up_at:
                        logger.error(
                            "%s: database still down at shutdown; %d messages stay "
                            "unacknowledged at the broker and will be redelivered",
                            self._config.name,
                            len(batch),
                        )
                        return False
                logger.warning("database write failed (%s); retrying in %.1f s", exc, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_S)
