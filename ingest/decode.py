"""Turn raw MQTT messages into table rows or dead letters; pure, so every rule is unit-testable.

Nothing here touches the network or the database: the caller passes the device index and the
clock. A bad reading inside a batch does not sink its valid neighbours: the batch is re-read
reading by reading and only the bad ones are dead-lettered, with their index in the detail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import msgspec

from anxin import wire
from anxin.consumer import Message
from ingest.devices import DeviceIndex, DeviceRef
from ingest.models import DeadLetter, Reason, Row, Staged

TABLE_OF_KIND = {
    "vitals": "reading_vitals",
    "env": "reading_env",
    "heartbeat": "reading_heartbeat",
    "event": "device_event",
    "impact": "impact_window",
}
PRESENCE_TABLE = "device_presence"


def _vitals_row(device_id: int, r: wire.Vitals) -> Row:
    return (
        device_id,
        r.ts,
        r.seq,
        r.hr,
        r.spo2,
        r.skin_temp_c,
        r.motion_g,
        r.steps,
        r.battery,
        r.worn,
    )


def _env_row(device_id: int, r: wire.Env) -> Row:
    return (device_id, r.ts, r.seq, r.smoke_obs, r.temp_c, r.lel_pct, r.co_ppm, r.battery)


def _heartbeat_row(device_id: int, r: wire.Heartbeat) -> Row:
    return (device_id, r.ts, r.seq, r.interval_s, r.battery, r.rssi, r.fw)


def _event_row(device_id: int, r: wire.Event) -> Row:
    return (device_id, r.ts, r.seq, r.event, r.code, r.detail)


def _impact_row(device_id: int, r: wire.Impact) -> Row:
    flat = [value for sample in r.acc for value in sample]
    return (device_id, r.ts, r.seq, r.rate_hz, r.range_g, r.start_ms, flat, r.t_ms)


_ROW_BUILDERS: dict[type, Callable[[int, wire.Reading], Row]] = {
    wire.Vitals: _vitals_row,  # type: ignore[dict-item]
    wire.Env: _env_row,  # type: ignore[dict-item]
    wire.Heartbeat: _heartbeat_row,  # type: ignore[dict-item]
    wire.Event: _event_row,  # type: ignore[dict-item]
    wire.Impact: _impact_row,  # type: ignore[dict-item]
}
_KIND_OF_TYPE: dict[type, str] = {
    wire.Vitals: "vitals",
    wire.Env: "env",
    wire.Heartbeat: "heartbeat",
    wire.Event: "event",
    wire.Impact: "impact",
}


class Decoder:
    """Decodes messages against a device index, a clock and the configured limits."""

    def __init__(
        self,
        devices: DeviceIndex,
        *,
        max_payload_bytes: int,
        max_clock_skew_s: int,
        now_ms: Callable[[], int],
    ) -> None:
        self._devices = devices
        self._max_payload = max_payload_bytes
        self._max_skew_ms = max_clock_skew_s * 1000
        self._now_ms = now_ms

    def decode(self, messages: Iterable[Message]) -> Staged:
        staged = Staged()
        now = self._now_ms()
        for message in messages:
            self._decode_one(message, now, staged)
        return staged

    def needs_reload(self, messages: Iterable[Message]) -> bool:
        """True if a message names a uid the index lacks and arrived after the index was loaded."""
        loaded_at = self._devices.loaded_at_ns
        for message in messages:
            if message.received_ns < loaded_at:
                continue
            parts = message.topic.split("/")
            if len(parts) == 5 and self._devices.get(parts[3]) is None:
                return True
        return False

    def _decode_one(self, message: Message, now: int, out: Staged) -> None:
        parts = message.topic.split("/")
        device_uid = parts[3] if len(parts) == 5 else None

        def dead(reason: Reason, detail: str) -> None:
            out.dead.append(DeadLetter(message.topic, device_uid, reason, detail, message.payload))

        if len(message.payload) > self._max_payload:
            dead(Reason.OVERSIZE, f"{len(message.payload)} bytes > limit {self._max_payload}")
            return
        if (
            device_uid is None
            or f"{parts[0]}/{parts[1]}" != wire.TOPIC_ROOT
            or parts[4] not in wire.CHANNELS
        ):
            dead(Reason.BAD_TOPIC, "expected anxin/v1/<site>/<device>/{reading|batch|status}")
            return
        device = self._devices.get(device_uid)
        if device is None:
            dead(Reason.UNKNOWN_DEVICE, f"device {device_uid!r} is not registered")
            return
        if not device.active:
            dead(Reason.INACTIVE_DEVICE, f"device {device_uid!r} is deactivated")
            return
        if device.site_uid != parts[2]:
            dead(
                Reason.IDENTITY_MISMATCH,
                f"device {device_uid!r} belongs to site {device.site_uid!r}, "
                f"topic says {parts[2]!r}",
            )
            return
        channel = parts[4]
        if channel == "status":
            self._decode_status(message, device, out, dead)
        elif channel == "reading":
            self._decode_reading(message, device_uid, device, now, out, dead)
        else:
            self._decode_batch(message, device_uid, device, now, out, dead)

    def _decode_status(
        self,
        message: Message,
        device: DeviceRef,
        out: Staged,
        dead: Callable[[Reason, str], None],
    ) -> None:
        try:
            status = wire.status_decoder.decode(message.payload)
        except msgspec.DecodeError as exc:
            dead(*_classify(exc))
            return
        out.rows[PRESENCE_TABLE].append((device.id, status.ts, status.state))

    def _decode_reading(
        self,
        message: Message,
        device_uid: str,
        device: DeviceRef,
        now: int,
        out: Staged,
        dead: Callable[[Reason, str], None],
    ) -> None:
        try:
            reading = wire.reading_decoder.decode(message.payload)
        except msgspec.DecodeError as exc:
            dead(*_classify(exc))
            return
        problem = self._check(reading, device_uid, device, now)
        if problem is not None:
            dead(*problem)
            return
        out.rows[TABLE_OF_KIND[_KIND_OF_TYPE[type(reading)]]].append(
            _ROW_BUILDERS[type(reading)](device.id, reading)
        )

    def _decode_batch(
        self,
        message: Message,
        device_uid: str,
        device: DeviceRef,
        now: int,
        out: Staged,
        dead: Callable[[Reason, str], None],
    ) -> None:
        try:
            readings = list(enumerate(wire.batch_decoder.decode(message.payload).readings))
            problems: dict[Reason, list[str]] = {}
        except msgspec.DecodeError as exc:
            salvaged = self._salvage(message.payload, exc, dead)
            if salvaged is None:
                return
            readings, problems = salvaged
        for index, reading in readings:
            problem = self._check(reading, device_uid, device, now)
            if problem is not None:
                problems.setdefault(problem[0], []).append(f"[{index}] {problem[1]}")
                continue
            out.rows[TABLE_OF_KIND[_KIND_OF_TYPE[type(reading)]]].append(
                _ROW_BUILDERS[type(reading)](device.id, reading)
            )
        for reason, details in problems.items():
            shown = "; ".join(details[:20]) + (" …" if len(details) > 20 else "")
            dead(reason, f"{len(details)} reading(s) of the batch rejected: {shown}")

    def _salvage(
        self, payload: bytes, error: msgspec.DecodeError, dead: Callable[[Reason, str], None]
    ) -> tuple[list[tuple[int, wire.Reading]], dict[Reason, list[str]]] | None:
        """Re-read a batch that failed as a whole, one reading at a time, keeping indices."""
        try:
            raw = wire.raw_batch_decoder.decode(payload).readings
        except msgspec.DecodeError:
            dead(*_classify(error))
            return None
        if not 1 <= len(raw) <= wire.MAX_BATCH_READINGS:
            dead(*_classify(error))
            return None
        readings: list[tuple[int, wire.Reading]] = []
        problems: dict[Reason, list[str]] = {}
        for index, item in enumerate(raw):
            try:
                readings.append((index, wire.reading_decoder.decode(item)))
            except msgspec.DecodeError as exc:
                reason, detail = _classify(exc)
                problems.setdefault(reason, []).append(f"[{index}] {detail}")
        return readings, problems

    def _check(
        self, reading: wire.Reading, device_uid: str, device: DeviceRef, now: int
    ) -> tuple[Reason, str] | None:
        kind = _KIND_OF_TYPE[type(reading)]
        if reading.dev is not None and reading.dev != device_uid:
            return Reason.IDENTITY_MISMATCH, f"payload dev {reading.dev!r} != topic {device_uid!r}"
        if not device.accepts(kind):
            return Reason.KIND_NOT_ALLOWED, f"a {device.kind} device does not send {kind!r}"
        skew = reading.ts - now
        if abs(skew) > self._max_skew_ms:
            way = "ahead of" if skew > 0 else "behind"
            return Reason.CLOCK_SKEW, f"device time is {abs(skew) / 3.6e6:.1f} h {way} server time"
        if isinstance(reading, wire.Impact) and reading.t_ms is not None:
            if len(reading.t_ms) != len(reading.acc):
                return Reason.INVALID_PAYLOAD, "impact t_ms and acc differ in length"
        return None


def _classify(exc: msgspec.DecodeError) -> tuple[Reason, str]:
    """Tell malformed JSON, impossible values and schema errors apart for the dead-letter row."""
    text = str(exc)
    if not isinstance(exc, msgspec.ValidationError):
        return Reason.MALFORMED_JSON, text
    if any(marker in text for marker in (" <= ", " >= ", " < ", " > ", "length")):
        return Reason.OUT_OF_RANGE, text
    return Reason.INVALID_PAYLOAD, text
