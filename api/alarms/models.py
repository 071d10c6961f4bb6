"""What the API says about alarms (response and request bodies)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

AlarmState = Literal["open", "acknowledged", "resolved", "cleared"]
Outcome = Literal["real", "false_alarm", "test"]


class AlarmSummary(BaseModel):
    """One alarm with the names a person needs to act on it."""

    id: int
    kind: str
    severity: int = Field(description="1 info, 2 warning, 3 alarm, 4 critical")
    state: AlarmState
    site_id: int
    site_uid: str
    site_name: str
    subject_kind: str = Field(description="resident, location, device, channel or storage_job")
    subject_id: int
    subject_name: str | None = Field(description="resident or location name, device uid")
    device_id: int | None
    device_uid: str | None
    title: str
    occurrences: int
    first_seen_at: datetime
    last_seen_at: datetime
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: Outcome | None
    note: str | None
    cleared_at: datetime | None
    silenced: bool


class AlarmPage(BaseModel):
    items: list[AlarmSummary]
    next_before: int | None = Field(
        description="pass as ?before= for the next (older) page; null on the last page"
    )


class AlarmEvent(BaseModel):
    """One entry of the audit trail: who did what, when, through which channel."""

    id: int
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


class VitalsPoint(BaseModel):
    ts: datetime
    hr: int | None
    spo2: int | None
    skin_temp_c: float | None
    motion_g: float | None
    steps: int | None
    battery: int | None
    worn: bool | None


class EnvPoint(BaseModel):
    ts: datetime
    smoke_obs: float | None
    temp_c: float | None
    lel_pct: float | None
    co_ppm: float | None
    battery: int | None


class HeartbeatPoint(BaseModel):
    ts: datetime
    interval_s: int
    battery: int | None
    rssi: int | None


class DeviceEventPoint(BaseModel):
    ts: datetime
    event: str
    code: str | None
    detail: str | None


class Readings(BaseModel):
    """The alarm's device readings in ``[start, end]``, oldest first (each series capped)."""

    start: datetime
    end: datetime
    vitals: list[VitalsPoint]
    env: list[EnvPoint]
    heartbeats: list[HeartbeatPoint]
    device_events: list[DeviceEventPoint]


class AlarmDetail(AlarmSummary):
    evidence: dict[str, Any] = Field(description="the readings, thresholds and scores that decided")
    events: list[AlarmEvent]
    readings: Readings


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome = Field(description="real incident, false alarm, or a test")
    note: str = Field("", max_length=4000, description="what was found and done")


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
