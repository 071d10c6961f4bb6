"""Values the detection rules take in and give out.

A rule sees an ``Observation`` (one decoded reading with the device's registry context) and the
clock; it answers with ``Trigger``s. A trigger names its subject (the resident for a bracelet's
body signals, the location for fire and gas, the device for device health) so that the alarm
service can keep one open alarm per subject and kind, and it carries its evidence: the readings,
the thresholds and scores that decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any

from anxin import wire


class Severity(IntEnum):
    """Ordered: a higher value wins when an open alarm is raised again."""

    INFO = 1
    WARNING = 2
    ALARM = 3
    CRITICAL = 4


class AlarmKind(StrEnum):
    FALL = "fall"
    SOS = "sos"
    VITALS_HR = "vitals_hr"
    VITALS_SPO2 = "vitals_spo2"
    INACTIVITY = "inactivity"
    NO_MORNING_ACTIVITY = "no_morning_activity"
    FIRE = "fire"
    GAS = "gas"
    CO = "co"
    COLD_STORAGE = "cold_storage"
    DEVICE_OFFLINE = "device_offline"
    LOW_BATTERY = "low_battery"
    NOT_WORN = "not_worn"
    DEVICE_FAULT = "device_fault"
    SELF_TEST_OVERDUE = "self_test_overdue"
    DELIVERY_FAILED = "delivery_failed"
    STORAGE_JOB_FAILING = "storage_job_failing"


@dataclass(frozen=True)
class DeviceContext:
    """What the registry says about the device that sent a reading."""

    device_id: int
    device_uid: str
    device_kind: str
    site_uid: str
    site_kind: str
    heartbeat_interval_s: int
    location_id: int | None = None
    location_name: str | None = None
    location_kind: str | None = None
    resident_id: int | None = None
    resident_uid: str | None = None
    hr_low: int = 45
    hr_high: int = 120
    spo2_low: int = 90


@dataclass(frozen=True)
class Observation:
    device: DeviceContext
    reading: wire.Reading
    received_ms: int


@dataclass(frozen=True)
class Subject:
    """Who or what an alarm is about: ('resident', id), ('location', id), ('device', id), or
    for an operator alarm about a failing delivery target ('channel', hash of the target) or a
    failing TimescaleDB job ('storage_job', job id)."""

    kind: str
    id: int


@dataclass(frozen=True)
class Trigger:
    """A rule's decision. ``clear=True`` says the condition has ended (threshold alarms
    auto-clear and stay on record)."""

    kind: AlarmKind
    severity: Severity
    subject: Subject
    site_uid: str
    title: str
    evidence: dict[str, Any] = field(default_factory=dict)
    device_id: int | None = None
    at_ms: int = 0
    clear: bool = False
