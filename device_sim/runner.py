"""Drive a fleet in real time: each device has its own MQTT client, credential and last will.

Bracelets subscribe to their ``cmd`` topic and answer a fall prompt as their scenario says
(``answer``: "ok", "help", or "none", the wearer who cannot press). On stop every device clears
what it left on the broker, its retained status and its session, so runs leave no trace there.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from anxin import wire
from anxin.mqtt import connect_and_wait, make_client
from anxin.settings import MqttEndpoint
from device_sim import behaviour
from device_sim.models import SimDevice

logger = logging.getLogger(__name__)


@dataclass
class SimStats:
    published: int = 0
    connected: int = 0


class _Device:
    def __init__(self, spec: SimDevice, endpoint: MqttEndpoint, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        self.client = make_client(endpoint, spec.uid, username=spec.uid, password=spec.password)
        self.endpoint = endpoint
        self.bracelet = behaviour.new_bracelet(rng) if spec.kind == "bracelet" else None
        sensor_kind = "heat_cold" if "cold" in spec.location else spec.kind
        self.sensor = None if self.bracelet else behaviour.new_sensor(rng, sensor_kind)
        self.connect_ts = time.time_ns() // 1_000_000
        self.silent = False
        self.overrides: dict[str, Callable[[int], float]] = {}
        self.answer = "none"
        self.answer_after_s = 3.0
        self.prompts: list[wire.FallPrompt] = []

    def _topic(self, channel: str) -> str:
        return wire.topic(self.spec.site_uid, self.spec.uid, channel)

    def connect(self) -> None:
        will = wire.encode(wire.Status(state="offline", ts=self.connect_ts))
        self.client.will_set(self._topic("status"), will, qos=1, retain=True)
        connect_and_wait(self.client, self.endpoint, persistent=True)
        if self.bracelet is not None:
            self.client.subscribe(self._topic(wire.COMMAND_CHANNEL), qos=1)
        online = wire.encode(wire.Status(state="online", ts=self.connect_ts))
        self.client.publish(self._topic("status"), online, qos=1, retain=True)

    def stop_listening(self) -> None:
        """The downlink lost: prompts no longer reach this bracelet."""
        self.client.unsubscribe(self._topic(wire.COMMAND_CHANNEL))

    def drop_off(self) -> None:
        """Vanish as a bracelet out of range does: the broker publishes the last will."""
        self.silent = True
        will = ReasonCode(PacketTypes.DISCONNECT, identifier=4)
        self.client.disconnect(reasoncode=will)
        self.client.loop_stop()

    def leave(self) -> None:
        """Clear the retained status (and a last will it published) and end the session."""
        if not self.client.is_connected():
            connect_and_wait(self.client, self.endpoint, persistent=True)
        self.client.publish(self._topic("status"), b"", qos=1, retain=True).wait_for_publish(5)
        props = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 0
        self.client.disconnect(properties=props)
        self.client.loop_stop()

    def reading(self, now_ms: int, dt_s: float) -> wire.Reading:
        """The device's own measurement, with any scenario override applied on top."""
        reading: wire.Reading
        if self.bracelet is not None:
            hour = behaviour.hour_of_day(now_ms)
            reading = behaviour.bracelet_vitals(self.bracelet, now_ms, hour, dt_s, self.rng)
        else:
            assert self.sensor is not None
            reading = behaviour.sensor_reading(self.sensor, self.spec.kind, now_ms, self.rng)
        if self.overrides:
            values = {name: fn(now_ms) for name, fn in self.overrides.items()}
            reading = msgspec.structs.replace(reading, **values)
        return reading

    def next_seq(self) -> int:
        state = self.bracelet or self.sensor
        assert state is not None
        state.seq += 1
        return state.seq

    def heartbeat(self, now_ms: int, interval_s: int) -> wire.Heartbeat:
        state = self.bracelet or self.sensor
        assert state is not None
        battery = int(self.bracelet.battery) if self.bracelet else 95
        return behaviour.heartbeat(state, now_ms, interval_s, battery)

    def publish(self, message: wire.Reading) -> mqtt.MQTTMessageInfo:
        return self.client.publish(self._topic("reading"), wire.encode(message), qos=1)


class FleetRunner:
    """Publishes a reading from every device each ``interval_s`` and a heartbeat each minute."""

    def __init__(
        self,
        devices: list[SimDevice],
        endpoint: MqttEndpoint,
        *,
        interval_s: float = 5.0,
        heartbeat_s: int = 60,
        seed: int = 7,
    ) -> None:
        root = np.random.default_rng(seed)
        self._devices = [
            _Device(d, endpoint, np.random.default_rng(root.integers(2**32))) for d in devices
        ]
        self._interval = interval_s
        self._heartbeat_s = heartbeat_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sim", daemon=True)
        self._lock = threading.Lock()
        self._by_uid = {d.spec.uid: d for d in self._devices}
        self.stats = SimStats()

    def device(self, uid: str) -> _Device:
        """A device of the fleet, for scenarios to steer; unknown uids are a scenario error."""
        try:
            return self._by_uid[uid]
        except KeyError:
            raise KeyError(f"no simulated device {uid!r} in this fleet") from None

    def publish_now(self, uid: str, build: Callable[[int, int], wire.Reading]) -> None:
        """Publish a reading made by ``build(seq, now_ms)`` from ``uid`` at once."""
        device = self.device(uid)
        with self._lock:
            device.publish(build(device.next_seq(), time.time_ns() // 1_000_000))
            self.stats.published += 1

    def publish_raw(self, uid: str, payload: bytes, channel: str = "reading") -> None:
        """Publish bytes as they are: how scenarios send malformed payloads."""
        device = self.device(uid)
        topic = wire.topic(device.spec.site_uid, device.spec.uid, channel)
        device.client.publish(topic, payload, qos=1)

    def start(self) -> None:
        for device in self._devices:
            if device.bracelet is not None:
                device.client.on_message = functools.partial(self._on_command, device)
            device.connect()
            self.stats.connected += 1
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for device in self._devices:
            device.leave()

    def _on_command(self, device: _Device, client: mqtt.Client, userdata: object, msg: Any) -> None:
        """A fall prompt on the bracelet: vibrate, and the wearer presses (or not) in a while."""
        try:
            prompt = wire.command_decoder.decode(msg.payload)
        except msgspec.DecodeError as exc:
            logger.warning("%s got an unreadable command: %s", device.spec.uid, exc)
            return
        device.prompts.append(prompt)
        if device.answer not in ("ok", "help"):
            return
        event: wire.EventName = "fall_ok" if device.answer == "ok" else "fall_help"

        def answer(seq: int, ts: int) -> wire.Reading:
            return wire.Event(seq=seq, ts=ts, event=event, code=prompt.id)

        timer = threading.Timer(
            device.answer_after_s, self.publish_now, args=(device.spec.uid, answer)
        )
        timer.daemon = True
        timer.start()

    def _run(self) -> None:
        last_heartbeat = 0.0
        while not self._stop.is_set():
            now_ms = time.time_ns() // 1_000_000
            send_heartbeat = time.monotonic() - last_heartbeat >= self._heartbeat_s
            with self._lock:
                for device in self._devices:
                    if device.silent:
                        continue
                    device.publish(device.reading(now_ms, self._interval))
                    if device.bracelet is not None:
                        for event in behaviour.bracelet_events(device.bracelet, now_ms):
                            device.publish(event)
                    if send_heartbeat:
                        device.publish(device.heartbeat(now_ms, self._heartbeat_s))
                        self.stats.published += 1
                    self.stats.published += 1
            if send_heartbeat:
                last_heartbeat = time.monotonic()
            self._stop.wait(self._interval)
