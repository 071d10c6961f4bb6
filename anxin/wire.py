"""The MQTT wire contract, version 1 (documented in ``docs/mqtt.md``).

Topics carry identity: ``anxin/v1/<site>/<device>/<channel>`` with channel ``reading`` (one
reading), ``batch`` (many) or ``status`` (retained online/offline, also the last will), all from
the device, and ``cmd``, the one channel from the platform to the device (a fall prompt the
bracelet answers with a ``fall_ok`` or ``fall_help`` event). Payloads are JSON; every reading
carries the device's clock (``ts``, epoch milliseconds) and its sequence number,
which together with the device identify the reading so a redelivery is absorbed, not stored twice.

Bounds on values are physical plausibility, not alarm thresholds: a heart rate of 900 is a broken
sensor or a forged message, never a patient, so it is refused here and dead-lettered.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

WIRE_VERSION = 1
TOPIC_ROOT = "anxin/v1"
CHANNELS = ("reading", "batch", "status")
COMMAND_CHANNEL = "cmd"
MAX_BATCH_READINGS = 1000
MAX_IMPACT_SAMPLES = 4096

Seq = Annotated[int, Meta(ge=0, le=2**63 - 1)]
EpochMs = Annotated[int, Meta(ge=0, le=2**47)]
Percent = Annotated[int, Meta(ge=0, le=100)]


class _Reading(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    tag_field="kind",
    kw_only=True,
    omit_defaults=True,
):
    """Fields every reading has; ``dev`` (optional) must match the topic's device."""

    seq: Seq
    ts: EpochMs
    v: Literal[1] = 1
    dev: str | None = None


class Vitals(_Reading, tag="vitals", frozen=True):
    """A bracelet's periodic vitals and wear status."""

    hr: Annotated[int, Meta(ge=20, le=300)] | None = None
    spo2: Annotated[int, Meta(ge=40, le=100)] | None = None
    skin_temp_c: Annotated[float, Meta(ge=0, le=45)] | None = None
    motion_g: Annotated[float, Meta(ge=0, le=32)] | None = None
    steps: Annotated[int, Meta(ge=0, le=1_000_000)] | None = None
    battery: Percent | None = None
    worn: bool | None = None


class Env(_Reading, tag="env", frozen=True):
    """A fire or gas sensor's measurement; a sensor sends only the quantities it has."""

    smoke_obs: Annotated[float, Meta(ge=0, le=100)] | None = None
    temp_c: Annotated[float, Meta(ge=-60, le=200)] | None = None
    lel_pct: Annotated[float, Meta(ge=0, le=100)] | None = None
    co_ppm: Annotated[float, Meta(ge=0, le=10_000)] | None = None
    battery: Percent | None = None


class Heartbeat(_Reading, tag="heartbeat", frozen=True):
    """Proof of life; ``interval_s`` is when the next one is due, so offline is per device."""

    interval_s: Annotated[int, Meta(ge=1, le=86_400)]
    battery: Percent | None = None
    rssi: Annotated[int, Meta(ge=-150, le=0)] | None = None
    fw: Annotated[str, Meta(max_length=64)] | None = None


EventName = Literal[
    "sos",
    "self_test_ok",
    "self_test_fail",
    "tamper",
    "fault",
    "taken_off",
    "put_on",
    "charging",
    "low_battery",
    "button",
    "fall_ok",
    "fall_help",
]
FALL_ANSWERS = ("fall_ok", "fall_help")
"""The wearer's answers to a fall prompt; the event's ``code`` names the prompt answered."""


class Event(_Reading, tag="event", frozen=True):
    """Something the device noticed itself: SOS press, self-test, tamper, fault codes."""

    event: EventName
    code: Annotated[str, Meta(max_length=64)] | None = None
    detail: Annotated[str, Meta(max_length=512)] | None = None


class Impact(_Reading, tag="impact", frozen=True):
    """An impact window cut by the bracelet's trigger, for the server's fall classifier.

    ``acc`` holds ``[x, y, z]`` in g at ``rate_hz``, the first sample ``start_ms`` from ``ts``
    (negative: before the impact). ``t_ms`` optionally gives each sample's own offset, for
    devices whose samples arrive in bursts rather than on a grid.
    """

    rate_hz: Annotated[float, Meta(ge=10, le=1000)]
    range_g: Annotated[float, Meta(ge=1, le=64)]
    start_ms: Annotated[int, Meta(ge=-60_000, le=0)]
    acc: Annotated[
        list[
            Annotated[list[Annotated[float, Meta(ge=-64, le=64)]], Meta(min_length=3, max_length=3)]
        ],
        Meta(min_length=2, max_length=MAX_IMPACT_SAMPLES),
    ]
    t_ms: list[int] | None = None


Reading = Vitals | Env | Heartbeat | Event | Impact
READING_KINDS = ("vitals", "env", "heartbeat", "event", "impact")
_KIND_OF_TYPE: dict[type, str] = {
    Vitals: "vitals",
    Env: "env",
    Heartbeat: "heartbeat",
    Event: "event",
    Impact: "impact",
}


class Batch(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True
):
    """Many readings in one message: how a bracelet catches up after being out of range."""

    readings: Annotated[list[Reading], Meta(min_length=1, max_length=MAX_BATCH_READINGS)]
    v: Literal[1] = 1


class RawBatch(msgspec.Struct, frozen=True):
    """A batch whose readings are kept undecoded, to salvage the valid ones of a bad batch."""

    readings: list[msgspec.Raw]


class Status(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, omit_defaults=True
):
    """Retained presence; the device sets ``offline`` as its last will when it connects."""

    state: Literal["online", "offline"]
    ts: EpochMs
    v: Literal[1] = 1


class FallPrompt(
    msgspec.Struct,
    frozen=True,
    forbid_unknown_fields=True,
    tag_field="cmd",
    tag="fall_prompt",
    kw_only=True,
    omit_defaults=True,
):
    """Platform → bracelet on ``cmd``: a doubtful fall asks the wearer before staff are called.

    The bracelet vibrates, shows ``text`` and answers with an event ``fall_ok`` or ``fall_help``
    whose ``code`` is ``id``. No answer by ``ts + timeout_s * 1000`` raises the fall alarm, so a
    bracelet that cannot show the prompt needs to do nothing.
    """

    id: Annotated[str, Meta(min_length=1, max_length=64)]
    ts: EpochMs
    impact_ts: EpochMs
    timeout_s: Annotated[int, Meta(ge=1, le=600)]
    vibrate: bool = True
    text: Annotated[str, Meta(max_length=128)] = "您还好吗？Are you OK?"
    v: Literal[1] = 1


reading_decoder = msgspec.json.Decoder(Reading)
batch_decoder = msgspec.json.Decoder(Batch)
raw_batch_decoder = msgspec.json.Decoder(RawBatch)
status_decoder = msgspec.json.Decoder(Status)
command_decoder = msgspec.json.Decoder(FallPrompt)
encoder = msgspec.json.Encoder()


def topic(site_uid: str, device_uid: str, channel: str) -> str:
    """The topic a device publishes ``channel`` on."""
    return f"{TOPIC_ROOT}/{site_uid}/{device_uid}/{channel}"


def kind_of(reading: Reading) -> str:
    """The ``kind`` tag a reading carries on the wire."""
    return _KIND_OF_TYPE[type(reading)]


def device_in_topic(topic: str) -> str | None:
    """The device uid in a topic of the contract's five levels; root and channel are not checked."""
    parts = topic.split("/")
    return parts[3] if len(parts) == 5 else None


def encode(message: Reading | Batch | Status | FallPrompt) -> bytes:
    """Serialise a message exactly as a device (or, for a command, the platform) sends it."""
    return encoder.encode(message)
