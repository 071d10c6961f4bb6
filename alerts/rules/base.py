"""What every rule shares: the observation as the rules see it, subjects, evidence, latches.

Time: a reading's moment is ``min(ts, received_ms)``. The device's clock orders its own
readings and dates a batch caught up after a gap, but it is never believed to be later than the
moment the server received the reading, so a device whose clock runs fast cannot postpone an
alarm or blind the rules to its later readings.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from alerts.models import AlarmKind, DeviceContext, Severity, Subject, Trigger
from alerts.rules.config import RuleConfig
from anxin import wire


@dataclass(frozen=True, slots=True)
class Seen:
    """One reading as the rules see it.

    ``late`` marks a reading older than one already seen from the same device: rules that
    follow a device's signal over time skip it, rules about single events (SOS, faults) and
    liveness still take it.
    """

    ctx: DeviceContext
    reading: wire.Reading
    t: int
    received_ms: int
    late: bool
    config: RuleConfig


class Rule:
    """A rule keeps its own state per subject; the engine feeds it readings and the clock."""

    name = "rule"

    def register(self, ctx: DeviceContext, config: RuleConfig, now_ms: int) -> None:
        """A device joined or its registry entry changed; timers already running are kept."""

    def observe(self, seen: Seen) -> list[Trigger]:
        return []

    def tick(self, now_ms: int) -> list[Trigger]:
        return []


def person_of(ctx: DeviceContext) -> Subject:
    """A wearable's body signals are about its wearer, or the device if nobody wears it."""
    if ctx.resident_id is not None:
        return Subject("resident", ctx.resident_id)
    return Subject("device", ctx.device_id)


def place_of(ctx: DeviceContext) -> Subject:
    """Fire and gas are about the room; a sensor in no room stands for itself."""
    if ctx.location_id is not None:
        return Subject("location", ctx.location_id)
    return Subject("device", ctx.device_id)


def device_of(ctx: DeviceContext) -> Subject:
    return Subject("device", ctx.device_id)


def where(ctx: DeviceContext) -> str:
    """How a title names the place: the room's name, else the device."""
    return ctx.location_name or ctx.device_uid


def who(ctx: DeviceContext) -> str:
    return ctx.resident_uid or ctx.device_uid


def reading_evidence(seen: Seen, **values: Any) -> dict[str, Any]:
    """A reading as evidence: which device, which message, when, and the values that counted."""
    return {
        "device_id": seen.ctx.device_id,
        "device_uid": seen.ctx.device_uid,
        "seq": seen.reading.seq,
        "ts": seen.reading.ts,
        **values,
    }


def trigger(
    *,
    rule: str,
    kind: AlarmKind,
    severity: Severity,
    subject: Subject,
    ctx: DeviceContext,
    title: str,
    at_ms: int,
    clear: bool = False,
    **evidence: Any,
) -> Trigger:
    return Trigger(
        kind=kind,
        severity=severity,
        subject=subject,
        site_uid=ctx.site_uid,
        title=title,
        evidence={"rule": rule, **evidence},
        device_id=ctx.device_id,
        at_ms=at_ms,
        clear=clear,
    )


K = TypeVar("K", bound=Hashable)


class Latch(Generic[K]):
    """What a rule has raised, at what severity: raise once, re-raise only higher, clear once.
    This is what keeps a persisting condition from repeating itself."""

    def __init__(self) -> None:
        self._open: dict[K, Severity] = {}

    def is_open(self, key: K) -> bool:
        return key in self._open

    def severity(self, key: K) -> Severity | None:
        return self._open.get(key)

    def raise_(self, key: K, severity: Severity) -> bool:
        """True when the trigger should be sent: new, or more severe than before."""
        before = self._open.get(key)
        if before is not None and severity <= before:
            return False
        self._open[key] = severity
        return True

    def clear(self, key: K) -> bool:
        """True when a clear should be sent: it was raised."""
        return self._open.pop(key, None) is not None
