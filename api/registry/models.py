"""Request and response bodies of the registry routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from alerts.outbox import parse_channel

Uid = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text = Annotated[str, StringConstraints(max_length=200)]
SiteKind = Literal["care_home", "home_alone", "funeral"]
DeviceKind = Literal["bracelet", "smoke", "heat", "gas", "co", "multi"]
LocationKind = Literal[
    "building",
    "floor",
    "room",
    "bed",
    "kitchen",
    "bathroom",
    "hall",
    "cremator_room",
    "cold_storage",
    "office",
    "corridor",
    "other",
]
ChannelItem = str | dict[str, str]
Role = Literal["duty", "supervisor", "manager"]
# Plausibility bounds of a reading (anxin.wire), so a limit can never be out of a sensor's reach.
HeartRate = Annotated[int, Field(ge=20, le=300)]
SpO2 = Annotated[int, Field(ge=40, le=100)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Patch(_In):
    """A partial update: fields left out keep their value. Every field is optional in the
    schema, but only those in ``NULLABLE`` may be sent as ``null`` (to clear them); a null for
    a required column is refused here rather than by a bare NOT NULL error."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self) -> _Patch:
        for name in sorted(self.model_fields_set - self.NULLABLE):
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null; leave it out to keep its value")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, by name."""
        return self.model_dump(exclude_unset=True)


def _check_channels(items: list[ChannelItem] | None) -> list[ChannelItem] | None:
    for index, item in enumerate(items or []):
        if parse_channel(item) is None:
            raise ValueError(
                f"channel {index} is not usable: give an Apprise URL, "
                '{"kind": "webhook", "url": "https://..."} or {"kind": "email", "to": "..."}'
            )
    return items


class SiteIn(_In):
    uid: Uid
    name: Name
    kind: SiteKind
    region: Text = Field("", description='district/town/community, e.g. "Xihu/Lingyin"')
    timezone: str = Field("Asia/Shanghai", description="IANA time zone of the site")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from None
        return value


class SiteOut(BaseModel):
    id: int
    uid: str
    name: str
    kind: SiteKind
    region: str
    timezone: str


class LocationIn(_In):
    name: Name
    kind: LocationKind = "room"


class LocationOut(BaseModel):
    id: int
    site_uid: str
    name: str
    kind: str
    parent_id: int | None


class ResidentIn(_In):
    uid: Uid
    site: Uid = Field(description="site uid")
    name: Name
    location: Name | None = Field(None, description="name of a location at the site")
    birth_year: int | None = Field(None, ge=1900, le=2100)


class ResidentOut(BaseModel):
    id: int
    uid: str
    site_uid: str
    name: str
    location_id: int | None
    location_name: str | None
    birth_year: int | None
    hr_low: int
    hr_high: int
    spo2_low: int
    active: bool


class ResidentPatch(_Patch):
    NULLABLE = frozenset({"location", "birth_year"})

    name: Name | None = None
    location: Name | None = Field(
        None, description="name of a location at the resident's site; null: none"
    )
    birth_year: int | None = Field(None, ge=1900, le=2100)
    hr_low: HeartRate | None = Field(None, description="heart rate below this is abnormal (bpm)")
    hr_high: HeartRate | None = Field(None, description="heart rate above this is abnormal (bpm)")
    spo2_low: SpO2 | None = Field(None, description="SpO2 below this is abnormal (%)")
    active: bool | None = Field(None, description="false: moved out or deceased")

    @model_validator(mode="after")
    def _limits_in_order(self) -> ResidentPatch:
        if self.hr_low is not None and self.hr_high is not None and self.hr_low >= self.hr_high:
            raise ValueError(f"hr_low ({self.hr_low}) must be below hr_high ({self.hr_high})")
        return self


class DeviceIn(_In):
    uid: Uid
    site: Uid = Field(description="site uid")
    kind: DeviceKind
    location: Name | None = Field(None, description="location name at the site (not bracelets)")
    resident: Uid | None = Field(None, description="uid of the wearer (bracelets)")
    model: Text = ""
    heartbeat_interval_s: int = Field(60, ge=5, le=86400)


class DeviceOut(BaseModel):
    id: int
    uid: str
    site_uid: str
    kind: DeviceKind
    active: bool
    heartbeat_interval_s: int
    location_id: int | None
    resident_id: int | None
    has_credential: bool


class DeviceIssued(BaseModel):
    """A new device and its MQTT password: shown this once, only its hash is kept."""

    device: DeviceOut
    mqtt_password: str


class CredentialOut(BaseModel):
    uid: str
    mqtt_password: str = Field(description="shown once; run 'anxin devices broker-auth' next")


class DevicePatch(_In):
    active: bool


class ContactIn(_In):
    site: Uid
    resident: Uid | None = Field(None, description="the resident this contact is for")
    name: Name
    kind: Literal["family", "community", "manager"]
    relation: Text = ""
    tier: Literal["community", "town", "district"] | None = None
    priority: int = Field(1, ge=1, le=100, description="1 is told first")
    phone: Text = ""
    email: Text = ""
    channels: list[ChannelItem] = Field(default_factory=list, max_length=20)

    _channels = field_validator("channels")(_check_channels)


class ContactOut(BaseModel):
    id: int
    site_uid: str
    resident_uid: str | None
    name: str
    kind: str
    relation: str
    tier: str | None
    priority: int
    phone: str
    email: str
    channels: list[ChannelItem]
    active: bool


class ContactPatch(_Patch):
    name: Name | None = None
    relation: Text | None = None
    priority: int | None = Field(None, ge=1, le=100, description="1 is told first")
    phone: Text | None = None
    email: Text | None = None
    channels: list[ChannelItem] | None = Field(None, max_length=20)
    active: bool | None = Field(None, description="false: never told again; history is kept")

    _channels = field_validator("channels")(_check_channels)


class StaffIn(_In):
    site: Uid
    name: Name
    role: Role
    phone: Text = ""
    email: Text = ""
    channels: list[ChannelItem] = Field(default_factory=list, max_length=20)

    _channels = field_validator("channels")(_check_channels)


class StaffPatch(_Patch):
    name: Name | None = None
    role: Role | None = Field(None, description="standing role, told when no shift covers now")
    phone: Text | None = None
    email: Text | None = None
    channels: list[ChannelItem] | None = Field(None, max_length=20)
    active: bool | None = Field(None, description="false: left; off the roster, history is kept")

    _channels = field_validator("channels")(_check_channels)


class StaffOut(BaseModel):
    id: int
    site_uid: str
    name: str
    role: str
    phone: str
    email: str
    channels: list[ChannelItem]
    active: bool


class ShiftIn(_In):
    role: Role
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class ShiftOut(BaseModel):
    id: int
    staff_id: int
    role: str
    starts_at: datetime
    ends_at: datetime


class RowError(BaseModel):
    row: int = Field(description="spreadsheet row: the header is row 1, the first record row 2")
    error: str


class IssuedCredential(BaseModel):
    uid: str
    mqtt_password: str


class ImportReport(BaseModel):
    """What a CSV import did: rows that failed are listed and did not stop the others."""

    created: int
    errors: list[RowError]
    credentials: list[IssuedCredential] = Field(
        default_factory=list, description="devices only: each new device's password, shown once"
    )
