"""What inspectors ask for and what they get back: filters and typed result rows.

Plain pydantic models, free of FastAPI, so the API, the console, the exports and the benchmark
share them; the routes return them as they are, which keeps the OpenAPI schema exact.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from alerts.fall_ask import PromptOutcome
from api.params import IsoDatetime

MAX_PAGE = 500

DbId = Annotated[int, Field(ge=1, le=2**63 - 1)]
"""A row id as PostgreSQL stores it (bigint): anything else cannot name a row."""

Kind = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]


def _printable(text: str) -> str:
    """PostgreSQL text cannot hold NUL: refuse it as bad input rather than fail on insert."""
    if "\x00" in text:
        raise ValueError("text must not contain NUL characters")
    return text


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]
Note = Annotated[str, Field(min_length=1, max_length=4000), AfterValidator(_printable)]
Description = Annotated[str, Field(max_length=4000), AfterValidator(_printable)]


class Outcome(StrEnum):
    """How the person who resolved an alarm judged it."""

    REAL = "real"
    FALSE_ALARM = "false_alarm"
    TEST = "test"


class AlarmState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    CLEARED = "cleared"


class AlarmFilter(BaseModel):
    """Narrows history and statistics; every field left empty means "any".

    ``sites`` narrows within the caller's scope, never beyond it: the queries intersect it with
    the allowed sites. The period is half-open, ``since <= raised_at < until``, in ISO 8601
    (a time without an offset is UTC, as everywhere in the API).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sites: tuple[DbId, ...] = ()
    kinds: tuple[Kind, ...] = ()
    severities: tuple[int, ...] = ()
    outcomes: tuple[Outcome, ...] = ()
    states: tuple[AlarmState, ...] = ()
    since: IsoDatetime | None = None
    until: IsoDatetime | None = None

    @model_validator(mode="after")
    def _check(self) -> AlarmFilter:
        if any(s < 1 or s > 4 for s in self.severities):
            raise ValueError("severity is 1 (info) to 4 (critical)")
        if self.since and self.until and self.since >= self.until:
            raise ValueError("since must be before until")
        return self


@dataclass(frozen=True)
class Cursor:
    """Where a history page ended; opaque to clients (URL-safe base64 of raised_at and id)."""

    raised_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.raised_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Parse a cursor from ``next_cursor``; anything else is refused with a hint."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            stamp, _, ident = raw.rpartition("|")
            moment = datetime.fromisoformat(stamp)
            cursor = cls(raised_at=moment, id=int(ident))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise ValueError(
                "cursor is not one this API issued: pass next_cursor from the previous page "
                "unchanged, or leave it out to start from the newest alarm"
            ) from None
        if moment.tzinfo is None:
            raise ValueError("cursor has no time zone: pass next_cursor unchanged")
        return cursor


class HistoryQuery(AlarmFilter):
    """A history request: the filter, the page size and where to resume."""

    limit: int = Field(50, ge=1, le=MAX_PAGE)
    cursor: str | None = None

    @field_validator("cursor")
    @classmethod
    def _decodes(cls, value: str | None) -> str | None:
        if value is not None:
            Cursor.decode(value)
        return value

    def spec(self) -> AlarmFilter:
        return AlarmFilter(**self.model_dump(exclude={"limit", "cursor"}))

    def after(self) -> Cursor | None:
        return None if self.cursor is None else Cursor.decode(self.cursor)


class AlarmRecord(BaseModel):
    """One alarm as the history shows it, with its response times in seconds.

    ``ack_s`` is the time to the first human response (acknowledge, or resolve without a
    separate acknowledgement); ``resolve_s`` the time to resolution. An alarm that cleared by
    itself has neither.
    """

    id: int
    raised_at: datetime
    site_id: int
    site_uid: str
    site_name: str
    kind: str
    severity: int
    state: AlarmState
    title: str
    device_uid: str | None
    occurrences: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    outcome: Outcome | None
    note: str | None
    cleared_at: datetime | None
    silenced: bool
    ack_s: float | None
    resolve_s: float | None


class HistoryPage(BaseModel):
    """One page, newest first; pass ``next_cursor`` back to get the next (None: last page)."""

    items: list[AlarmRecord]
    next_cursor: str | None


class StatsGroup(StrEnum):
    TOTAL = "total"
    SITE = "site"
    SHIFT = "shift"
    MONTH = "month"


class ResponseStats(BaseModel):
    """Counts and response-time percentiles (seconds, ``percentile_cont``) of one group.

    ``unacknowledged_60s`` counts alarms (not silenced) that waited more than 60 s for a first
    human response, whether one came later or never.
    """

    group: StatsGroup
    key: str
    label: str
    alarms: int
    acknowledged: int
    resolved: int
    false_alarms: int
    unacknowledged_60s: int
    ack_p50_s: float | None
    ack_p90_s: float | None
    resolve_p50_s: float | None
    resolve_p90_s: float | None


class Statistics(BaseModel):
    total: ResponseStats
    by_site: list[ResponseStats]
    by_shift: list[ResponseStats]
    by_month: list[ResponseStats]


class DeviceHealth(BaseModel):
    """A device's health as its own readings tell it; ``problems`` names what is wrong."""

    device_id: int
    device_uid: str
    kind: str
    site_id: int
    site_uid: str
    site_name: str
    location: str | None
    heartbeat_interval_s: int
    last_seen_at: datetime | None
    battery_pct: int | None
    last_self_test_ok_at: datetime | None
    offline: bool
    battery_low: bool
    self_test_overdue: bool
    self_test_failed: bool
    problems: list[str]


class RectificationState(StrEnum):
    FOUND = "found"
    ASSIGNED = "assigned"
    RECTIFIED = "rectified"
    VERIFIED = "verified"


class HazardLevel(StrEnum):
    GENERAL = "general"
    MAJOR = "major"


class Rectification(BaseModel):
    """A hazard and its closed loop; ``overdue``: not rectified and past its deadline."""

    id: int
    site_id: int
    site_uid: str
    site_name: str
    location_id: int | None
    location: str | None
    alarm_id: int | None
    title: str
    description: str
    level: HazardLevel
    state: RectificationState
    found_at: datetime
    found_by: str
    responsible: str | None
    deadline: datetime | None
    assigned_at: datetime | None
    assigned_by: str | None
    rectified_at: datetime | None
    rectified_by: str | None
    rectification_note: str | None
    verified_at: datetime | None
    verified_by: str | None
    verification_note: str | None
    overdue: bool


class RectificationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_id: DbId
    title: Name
    description: Description = ""
    level: HazardLevel = HazardLevel.GENERAL
    location_id: DbId | None = None
    alarm_id: DbId | None = None


class RectificationAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    responsible: Name
    deadline: IsoDatetime


class RectificationNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note


class RectificationVerify(BaseModel):
    """``passed`` false sends the item back to its responsible person (state 'assigned')."""

    model_config = ConfigDict(extra="forbid")

    passed: bool
    note: Note


class RectificationFilter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    sites: tuple[DbId, ...] = ()
    states: tuple[RectificationState, ...] = ()
    overdue_only: bool = False


FallPromptState = PromptOutcome | Literal["open"]
"""How a possible fall ended (``alerts.fall_ask.PromptOutcome``), or ``open`` while it waits."""


class FallPromptQuery(BaseModel):
    """Possible falls of the caller's sites, newest impact first; empty fields mean "any"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sites: tuple[DbId, ...] = ()
    outcomes: tuple[FallPromptState, ...] = ()
    since: IsoDatetime | None = None
    until: IsoDatetime | None = None
    limit: int = Field(100, ge=1, le=MAX_PAGE)


class FallPrompt(BaseModel):
    """A doubtful fall and what came of it: the wearer's answer, or the alarm it became.

    ``asked_at`` is empty when the bracelet was not asked (the wearer lay still, or it was
    offline); ``alarm_id`` names the fall alarm for every outcome but ``cancelled``.
    """

    id: int
    site_id: int
    site_uid: str
    device_uid: str
    resident_uid: str | None
    impact_at: datetime
    score: float
    threshold: float
    asked_at: datetime | None
    deadline_at: datetime | None
    outcome: FallPromptState
    closed_at: datetime | None
    alarm_id: int | None
