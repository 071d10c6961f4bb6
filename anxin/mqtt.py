"""Building paho-mqtt 2 clients the way every Anxin service and simulated device needs them."""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from anxin.errors import BrokerUnavailable
from anxin.mqtt_buffered import BufferedClient
from anxin.settings import MqttEndpoint

SESSION_EXPIRY_S = 7 * 24 * 3600


def make_client(
    endpoint: MqttEndpoint,
    client_id: str,
    *,
    manual_ack: bool = False,
    username: str | None = None,
    password: str | None = None,
) -> BufferedClient:
    """An MQTT v5 client; credentials default to the endpoint's (a device passes its own)."""
    client = BufferedClient(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
        manual_ack=manual_ack,
    )
    user = username if username is not None else endpoint.username
    secret = password if password is not None else endpoint.password
    if user is not None:
        client.username_pw_set(user, secret)
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    return client


def connect_properties(*, persistent: bool, receive_maximum: int | None = None) -> Properties:
    """CONNECT properties: a persistent session survives restarts so nothing unacked is lost."""
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    if persistent:
        props.SessionExpiryInterval = SESSION_EXPIRY_S
    if receive_maximum is not None:
        props.ReceiveMaximum = receive_maximum
    return props


def connect_and_wait(
    client: mqtt.Client,
    endpoint: MqttEndpoint,
    *,
    persistent: bool,
    receive_maximum: int | None = None,
    timeout_s: float = 15.0,
) -> None:
    """Connect, start the network thread and wait for CONNACK; raise a clear error otherwise."""
    connected = threading.Event()
    failure: list[str] = []
    previous = client.on_connect

    def on_connect(c: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        if getattr(rc, "is_failure", False):
            failure.append(str(rc))
        connected.set()
        if previous is not None:
            previous(c, userdata, flags, rc, props)  # type: ignore[call-arg]

    client.on_connect = on_connect
    try:
        client.connect(
            endpoint.host,
            endpoint.port,
            keepalive=30,
            clean_start=not persistent,
            properties=connect_properties(persistent=persistent, receive_maximum=receive_maximum),
        )
    except OSError as exc:
        raise BrokerUnavailable(
            f"MQTT broker at {endpoint.host}:{endpoint.port} refused the connection ({exc}). "
            "Start Mosquitto (see README) or set ANXIN_MQTT_URL."
        ) from None
    client.loop_start()
    if not connected.wait(timeout_s):
        client.loop_stop()
        raise BrokerUnavailable(
            f"no CONNACK from {endpoint.host}:{endpoint.port} within {timeout_s:.0f} s"
        )
    client.on_connect = previous
    if failure:
        client.loop_stop()
        raise BrokerUnavailable(
            f"broker {endpoint.host}:{endpoint.port} refused this client: {failure[0]} "
            "(check the credential and ACL: 'anxin devices broker-auth')"
        )
