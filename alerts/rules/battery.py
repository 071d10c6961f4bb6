"""Low battery, with a gap between the alarm and clear levels so a reading that wobbles around
one level does not raise and clear over and over."""

from __future__ import annotations

from alerts.models import AlarmKind, Severity, Trigger
from alerts.rules.base import Latch, Rule, Seen, device_of, reading_evidence, trigger
from anxin import wire


class BatteryRule(Rule):
    name = "device_health.battery"

    def __init__(self) -> None:
        self._latch: Latch[int] = Latch()

    def observe(self, seen: Seen) -> list[Trigger]:
        reading, cfg = seen.reading, seen.config
        if seen.late:
            return []
        if isinstance(reading, wire.Event) and reading.event == "low_battery":
            low, level = True, None
        elif isinstance(reading, wire.Vitals | wire.Env | wire.Heartbeat):
            level = reading.battery
            if level is None:
                return []
            low = level <= cfg.battery_low_pct
            if not low and level < cfg.battery_clear_pct:
                return []
        else:
            return []
        device_id = seen.ctx.device_id
        if low and self._latch.raise_(device_id, Severity.WARNING):
            title = f"Battery low on {seen.ctx.device_uid}" + (
                "" if level is None else f": {level} %"
            )
            clear = False
        elif not low and self._latch.clear(device_id):
            title = f"Battery of {seen.ctx.device_uid} recharged: {level} %"
            clear = True
        else:
            return []
        return [
            trigger(
                rule=self.name,
                kind=AlarmKind.LOW_BATTERY,
                severity=Severity.WARNING,
                subject=device_of(seen.ctx),
                ctx=seen.ctx,
                title=title,
                at_ms=seen.t,
                clear=clear,
                readings=[reading_evidence(seen, battery=level)],
                thresholds={"low_pct": cfg.battery_low_pct, "clear_pct": cfg.battery_clear_pct},
            )
        ]
