"""Self-test overdue: a fire or gas sensor nobody has tested within the monthly interval.

Registration starts the clock, so a sensor installed and never tested is reported too.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.models import AlarmKind, DeviceContext, Severity, Trigger
from alerts.rules.base import Latch, Rule, Seen, device_of, trigger, where
from alerts.rules.config import RuleConfig
from alerts.rules.localtime import DAY_MS
from anxin import wire


@dataclass
class _Schedule:
    ctx: DeviceContext
    config: RuleConfig
    last_ok_ms: int


class SelfTestRule(Rule):
    name = "device_health.self_test"

    def __init__(self) -> None:
        self._schedules: dict[int, _Schedule] = {}
        self._latch: Latch[int] = Latch()

    def register(self, ctx: DeviceContext, config: RuleConfig, now_ms: int) -> None:
        schedule = self._schedules.get(ctx.device_id)
        if ctx.device_kind not in config.self_test_device_kinds:
            self._schedules.pop(ctx.device_id, None)
        elif schedule is None:
            self._schedules[ctx.device_id] = _Schedule(ctx, config, now_ms)
        else:
            schedule.ctx, schedule.config = ctx, config

    def observe(self, seen: Seen) -> list[Trigger]:
        reading = seen.reading
        schedule = self._schedules.get(seen.ctx.device_id)
        if schedule is None or not isinstance(reading, wire.Event):
            return []
        if reading.event != "self_test_ok":
            return []
        schedule.last_ok_ms = max(schedule.last_ok_ms, seen.t)
        if not self._latch.clear(seen.ctx.device_id):
            return []
        return [self._trigger(schedule, seen.t, "self-tested", clear=True)]

    def tick(self, now_ms: int) -> list[Trigger]:
        out: list[Trigger] = []
        for device_id, schedule in self._schedules.items():
            overdue = now_ms - schedule.last_ok_ms >= schedule.config.self_test_max_days * DAY_MS
            if overdue and self._latch.raise_(device_id, Severity.WARNING):
                days = (now_ms - schedule.last_ok_ms) // DAY_MS
                out.append(self._trigger(schedule, now_ms, f"not self-tested for {days} days"))
        return out

    def _trigger(
        self, schedule: _Schedule, at_ms: int, what: str, *, clear: bool = False
    ) -> Trigger:
        return trigger(
            rule=self.name,
            kind=AlarmKind.SELF_TEST_OVERDUE,
            severity=Severity.WARNING,
            subject=device_of(schedule.ctx),
            ctx=schedule.ctx,
            title=f"Sensor {schedule.ctx.device_uid} in {where(schedule.ctx)} {what}",
            at_ms=at_ms,
            clear=clear,
            last_self_test_ok_ms=schedule.last_ok_ms,
            thresholds={"max_days": schedule.config.self_test_max_days},
        )
