"""Commands to devices on ``anxin/v1/<site>/<device>/cmd``: the detection worker's one downlink.

Its own MQTT client and a clean session: a prompt that cannot go out now is worth nothing later,
because the alarm follows at its deadline anyway. Each prompt carries an MQTT v5 message expiry
of its own timeout, so a bracelet that comes back after the deadline is not asked about a fall
already raised. A publish the client cannot queue (no connection) or the broker refuses (its
PUBACK reason) is reported to ``on_failure`` (from paho's thread), which raises the alarm at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from anxin import wire
from anxin.mqtt import connect_and_wait, make_client
from anxin.settings import MqttEndpoint

logger = logging.getLogger(__name__)

FailureCallback = Callable[[str], None]


class Downlink:
    """Publishes fall prompts with QoS 1 and reports the ones that cannot be delivered."""

    def __init__(self, endpoint: MqttEndpoint, client_id: str) -> None:
        self._endpoint = endpoint
        self._client = make_client(endpoint, client_id)
        self._client.on_publish = self._on_publish
        self._lock = threading.Lock()
        self._waiting: dict[int, FailureCallback] = {}

    def start(self) -> None:
        connect_and_wait(self._client, self._endpoint, persistent=False)

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def send(
        self, site_uid: str, device_uid: str, prompt: wire.FallPrompt, on_failure: FailureCallback
    ) -> None:
        props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        props.MessageExpiryInterval = prompt.timeout_s
        topic = wire.topic(site_uid, device_uid, wire.COMMAND_CHANNEL)
        with self._lock:
            info = self._client.publish(topic, wire.encode(prompt), qos=1, properties=props)
            if info.rc == mqtt.MQTT_ERR_SUCCESS:
                self._waiting[info.mid] = on_failure
                return
        logger.warning("fall prompt %s to %s not sent: %s", prompt.id, device_uid, info.rc)
        on_failure(f"not sent: {mqtt.error_string(info.rc)}")

    def _on_publish(
        self, client: mqtt.Client, userdata: object, mid: int, reason: Any, props: object
    ) -> None:
        with self._lock:
            on_failure = self._waiting.pop(mid, None)
        if on_failure is not None and getattr(reason, "is_failure", False):
            logger.warning("the broker refused a fall prompt: %s", reason)
            on_failure(f"refused by the broker: {reason}")
