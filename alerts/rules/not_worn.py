"""A bracelet off the wrist for too long: it can detect neither a fall nor a missing pulse.

Charging is the legitimate reason to take it off: a ``charging`` event, or a battery that has
risen while the bracelet is off (it can only rise on the charger), stops the clock until the
bracelet is worn again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerts.models import AlarmKind, DeviceContext, Severity, Trigger
from alerts.rules.base import Latch, Rule, Seen, device_of, reading_evidence, trigger, who
from alerts.rules.config import RuleConfig
from anxin import wire


@dataclass
class _Wear:
    ctx: DeviceContext
    config: RuleConfig
    off_since: int | None = None
    charging: bool = False
    lowest_battery: int | None = None
    evidence: dict[str, Any] | None = None


class NotWornRule(Rule):
    name = "device_health.not_worn"

    def __init__(self) -> None:
        self._wear: dict[int, _Wear] = {}
        self._latch: Latch[int] = Latch()

    def observe(self, seen: Seen) -> list[Trigger]:
        reading = seen.reading
        if seen.late:
            return []
        if isinstance(reading, wire.Event) and reading.event in ("taken_off", "put_on", "charging"):
            event = reading.event
            worn = event == "put_on"
            battery = None
        elif isinstance(reading, wire.Vitals) and reading.worn is not None:
            worn, battery = reading.worn, reading.battery
            event = None
        else:
            return []
        wear = self._wear.setdefault(seen.ctx.device_id, _Wear(seen.ctx, seen.config))
        wear.ctx, wear.config = seen.ctx, seen.config
        if worn:
            self._wear.pop(seen.ctx.device_id)
            return self._clear(wear, seen.t, "worn again")
        if wear.off_since is None:
            wear.off_since = seen.t
            wear.evidence = reading_evidence(seen, worn=False, event=event)
        if event == "charging" or self._battery_rose(wear, battery):
            wear.charging = True
            return self._clear(wear, seen.t, "charging")
        return self._due(wear, seen.t)

    def tick(self, now_ms: int) -> list[Trigger]:
        out: list[Trigger] = []
        for wear in self._wear.values():
            out.extend(self._due(wear, now_ms))
        return out

    def _battery_rose(self, wear: _Wear, battery: int | None) -> bool:
        if battery is None:
            return False
        if wear.lowest_battery is None or battery < wear.lowest_battery:
            wear.lowest_battery = battery
        return battery - wear.lowest_battery >= wear.config.charging_rise_pct

    def _due(self, wear: _Wear, at_ms: int) -> list[Trigger]:
        if wear.charging or wear.off_since is None:
            return []
        off_ms = at_ms - wear.off_since
        if off_ms < wear.config.not_worn_min * 60_000:
            return []
        if not self._latch.raise_(wear.ctx.device_id, Severity.WARNING):
            return []
        return [self._trigger(wear, at_ms, f"not worn for {off_ms // 60_000} min")]

    def _clear(self, wear: _Wear, at_ms: int, why: str) -> list[Trigger]:
        if not self._latch.clear(wear.ctx.device_id):
            return []
        return [self._trigger(wear, at_ms, why, clear=True)]

    def _trigger(self, wear: _Wear, at_ms: int, what: str, *, clear: bool = False) -> Trigger:
        return trigger(
            rule=self.name,
            kind=AlarmKind.NOT_WORN,
            severity=Severity.WARNING,
            subject=device_of(wear.ctx),
            ctx=wear.ctx,
            title=f"Bracelet {wear.ctx.device_uid} ({who(wear.ctx)}) {what}",
            at_ms=at_ms,
            clear=clear,
            off_since_ms=wear.off_since,
            readings=[] if wear.evidence is None else [wear.evidence],
            thresholds={
                "not_worn_min": wear.config.not_worn_min,
                "charging_rise_pct": wear.config.charging_rise_pct,
            },
        )
