"""The verdict on one MQTT message: the readings that pass the wire's checks, and why others fail.

Ingest stores what passes and dead-letters the rest; detection acts on what passes and counts
the rest by the same reasons. One set of checks for both is what keeps an alarm from resting on
a reading that storage refused (a forged topic, a payload naming another device, a clock days
off). Pure: the caller passes the device index and the clock. A bad reading inside a batch does
not sink its valid neighbours: the batch is re-read reading by reading and only the bad ones
are refused, with their index in the detail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import msgspec

from anxin import wire
from anxin.consumer import Message
from anxin.device_index import DeviceIndex, DeviceRef
from anxin.settings import Settings


class Reason(StrEnum):
    """Why a message or reading was refused; stable strings, used in metrics and queries."""

    OVERSIZE = "oversize"
    BAD_TOPIC = "bad_topic"
    UNKNOWN_DEVICE = "unknown_device"
    INACTIVE_DEVICE = "inactive_device"
    IDENTITY_MISMATCH = "identity_mismatch"
    MALFORMED_JSON = "malformed_json"
    INVALID_PAYLOAD = "invalid_payload"
    OUT_OF_RANGE = "out_of_range"
    KIND_NOT_ALLOWED = "kind_not_allowed"
    CLOCK_SKEW = "clock_skew"
    STORAGE_REJECTED = "storage_rejected"


@dataclass(frozen=True, slots=True)
class Rejection:
    """One dead letter's worth: a whole message, or every reading of a batch refused for one
    reason."""

    reason: Reason
    detail: str


@dataclass(slots=True)
class Verdict:
    """What passed of one message; ``device`` is set once the topic's identity checks passed.

    ``command`` marks the platform's own downlink (``cmd``): every service subscribed to the
    device topics hears it, and it is neither a reading nor a dead letter.
    """

    device_uid: str | None
    command: bool = False
    device: DeviceRef | None = None
    readings: list[wire.Reading] = field(default_factory=list)
    status: wire.Status | None = None
    rejections: list[Rejection] = field(default_factory=list)


class WireChecks:
    """Identity against topic and registry, kinds per device type, bounds, clock skew, size."""

    def __init__(
        self, devices: DeviceIndex, *, max_payload_bytes: int, max_clock_skew_s: int
    ) -> None:
        self._devices = devices
        self._max_payload = max_payload_bytes
        self._max_skew_ms = max_clock_skew_s * 1000

    @classmethod
    def from_settings(cls, devices: DeviceIndex, settings: Settings) -> WireChecks:
        """The limits every service applies, so ingest and detection cannot be configured apart."""
        return cls(
            devices,
            max_payload_bytes=settings.ingest_max_payload_bytes,
            max_clock_skew_s=settings.ingest_max_clock_skew_s,
        )

    def judge(self, message: Message, now_ms: int) -> Verdict:
        parts = message.topic.split("/")
        verdict = Verdict(wire.device_in_topic(message.topic))
        device_uid = verdict.device_uid

        def refuse(reason: Reason, detail: str) -> Verdict:
            verdict.rejections.append(Rejection(reason, detail))
            return verdict

        if device_uid is not None and parts[4] == wire.COMMAND_CHANNEL:
            verdict.command = True
            return verdict
        if len(message.payload) > self._max_payload:
            return refuse(
                Reason.OVERSIZE, f"{len(message.payload)} bytes > limit {self._max_payload}"
            )
        if (
            device_uid is None
            or f"{parts[0]}/{parts[1]}" != wire.TOPIC_ROOT
            or parts[4] not in wire.CHANNELS
        ):
            return refuse(
                Reason.BAD_TOPIC, "expected anxin/v1/<site>/<device>/{reading|batch|status}"
            )
        device = self._devices.get(device_uid)
        if device is None:
            return refuse(Reason.UNKNOWN_DEVICE, f"device {device_uid!r} is not registered")
        if not device.active:
            return refuse(Reason.INACTIVE_DEVICE, f"device {device_uid!r} is deactivated")
        if device.site_uid != parts[2]:
            return refuse(
                Reason.IDENTITY_MISMATCH,
                f"device {device_uid!r} belongs to site {device.site_uid!r}, "
                f"topic says {parts[2]!r}",
            )
        verdict.device = device
        channel = parts[4]
        try:
            if channel == "status":
                # an empty retained message is how a device's presence is cleared (MQTT's own
                # way to delete a retained message): nothing to store, nothing wrong
                if message.payload:
                    verdict.status = wire.status_decoder.decode(message.payload)
            elif channel == "reading":
                reading = wire.reading_decoder.decode(message.payload)
                problem = self._check(reading, device_uid, device, now_ms)
                if problem is not None:
                    return refuse(*problem)
                verdict.readings.append(reading)
            else:
                self._judge_batch(message.payload, device_uid, device, now_ms, verdict)
        except msgspec.DecodeError as exc:
            refuse(*_classify(exc))
        return verdict

    def _judge_batch(
        self, payload: bytes, device_uid: str, device: DeviceRef, now_ms: int, verdict: Verdict
    ) -> None:
        try:
            readings = list(enumerate(wire.batch_decoder.decode(payload).readings))
            problems: dict[Reason, list[str]] = {}
        except msgspec.DecodeError as exc:
            readings, problems = self._salvage(payload, exc)
        for index, reading in readings:
            problem = self._check(reading, device_uid, device, now_ms)
            if problem is None:
                verdict.readings.append(reading)
            else:
                problems.setdefault(problem[0], []).append(f"[{index}] {problem[1]}")
        for reason, details in problems.items():
            shown = "; ".join(details[:20]) + (" …" if len(details) > 20 else "")
            verdict.rejections.append(
                Rejection(reason, f"{len(details)} reading(s) of the batch rejected: {shown}")
            )

    def _salvage(
        self, payload: bytes, error: msgspec.DecodeError
    ) -> tuple[list[tuple[int, wire.Reading]], dict[Reason, list[str]]]:
        """Re-read a batch that failed as a whole, one reading at a time, keeping indices.

        Raises ``error`` again when the batch itself is unreadable: then the message fails.
        """
        try:
            raw = wire.raw_batch_decoder.decode(payload).readings
        except msgspec.DecodeError:
            raise error from None
        if not 1 <= len(raw) <= wire.MAX_BATCH_READINGS:
            raise error
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
        self, reading: wire.Reading, device_uid: str, device: DeviceRef, now_ms: int
    ) -> tuple[Reason, str] | None:
        kind = wire.kind_of(reading)
        if reading.dev is not None and reading.dev != device_uid:
            return Reason.IDENTITY_MISMATCH, f"payload dev {reading.dev!r} != topic {device_uid!r}"
        if not device.accepts(kind):
            return Reason.KIND_NOT_ALLOWED, f"a {device.kind} device does not send {kind!r}"
        skew = reading.ts - now_ms
        if abs(skew) > self._max_skew_ms:
            way = "ahead of" if skew > 0 else "behind"
            return Reason.CLOCK_SKEW, f"device time is {abs(skew) / 3.6e6:.1f} h {way} server time"
        if isinstance(reading, wire.Event) and reading.event in wire.FALL_ANSWERS:
            if not reading.code:
                return Reason.INVALID_PAYLOAD, f"{reading.event} must name its prompt's id in code"
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
