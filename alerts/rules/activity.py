"""Seniors living alone: no sign of life for too long, or no sign by the usual wake time.

Activity is wrist motion above ``activity_motion_g``, a step count that went up, or a press or
wear event; readings from a bracelet that is off the wrist show nothing about its wearer.
Inactivity counts waking hours (``inactivity_waking_h``) and, separately, all hours
(``inactivity_any_h``), so a night's sleep is not mistaken for a collapse but a whole silent
night and morning is noticed. Registration counts as the first sign of life: watching starts
then, with no judgement about the time before it. The morning check compares with the
resident's usual wake time, seeded through ``RuleEngine.set_usual_wake`` where it has been
learned from their history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alerts.models import AlarmKind, DeviceContext, Severity, Subject, Trigger
from alerts.rules.base import Latch, Rule, Seen, person_of, reading_evidence, trigger, who
from alerts.rules.config import RuleConfig
from alerts.rules.localtime import DAY_MS, HOUR_MS, MINUTE_MS, local, window_overlap_ms
from anxin import wire

HOME_ALONE = "home_alone"
_HUMAN_EVENTS = ("sos", "button", "put_on", "taken_off", "charging")


@dataclass
class _Resident:
    ctx: DeviceContext
    config: RuleConfig
    last_active: int
    last_evidence: dict[str, Any] | None = None
    steps: dict[int, int] = field(default_factory=dict)
    morning_judged: int | None = None


class ActivityRule(Rule):
    name = "activity"

    def __init__(self) -> None:
        self._residents: dict[int, _Resident] = {}
        self._usual_wake: dict[int, int] = {}
        self._inactive: Latch[int] = Latch()
        self._no_morning: Latch[int] = Latch()

    def set_usual_wake(self, resident_id: int, minute_of_day: int) -> None:
        if not 0 <= minute_of_day < 1440:
            raise ValueError(f"minute_of_day must be in [0, 1440), not {minute_of_day}")
        self._usual_wake[resident_id] = minute_of_day

    def register(self, ctx: DeviceContext, config: RuleConfig, now_ms: int) -> None:
        if ctx.site_kind != HOME_ALONE or ctx.resident_id is None:
            return
        resident = self._residents.get(ctx.resident_id)
        if resident is None:
            self._residents[ctx.resident_id] = _Resident(ctx, config, now_ms)
        else:
            resident.ctx, resident.config = ctx, config

    def observe(self, seen: Seen) -> list[Trigger]:
        resident_id = seen.ctx.resident_id
        if resident_id is None:
            return []
        resident = self._residents.get(resident_id)
        if resident is None:
            return []
        sign = self._sign_of_life(resident, seen)
        if sign is None:
            return []
        if seen.t <= resident.last_active:
            return []
        resident.last_active = seen.t
        resident.last_evidence = sign
        out: list[Trigger] = []
        if self._inactive.clear(resident_id):
            out.append(
                self._trigger(resident, AlarmKind.INACTIVITY, seen.t, "active again", clear=True)
            )
        if self._no_morning.clear(resident_id):
            out.append(
                self._trigger(resident, AlarmKind.NO_MORNING_ACTIVITY, seen.t, "up", clear=True)
            )
        return out

    def tick(self, now_ms: int) -> list[Trigger]:
        out: list[Trigger] = []
        for resident_id, resident in self._residents.items():
            out.extend(self._check_inactivity(resident_id, resident, now_ms))
            out.extend(self._check_morning(resident_id, resident, now_ms))
        return out

    def _sign_of_life(self, resident: _Resident, seen: Seen) -> dict[str, Any] | None:
        reading, cfg = seen.reading, seen.config
        if isinstance(reading, wire.Event) and reading.event in _HUMAN_EVENTS:
            return reading_evidence(seen, event=reading.event)
        if not isinstance(reading, wire.Vitals) or reading.worn is False:
            return None
        stepped = False
        if reading.steps is not None and not seen.late:
            before = resident.steps.get(seen.ctx.device_id)
            resident.steps[seen.ctx.device_id] = reading.steps
            stepped = before is not None and reading.steps > before
        moved = reading.motion_g is not None and reading.motion_g > cfg.activity_motion_g
        if moved or stepped:
            return reading_evidence(seen, motion_g=reading.motion_g, steps=reading.steps)
        return None

    def _check_inactivity(self, resident_id: int, resident: _Resident, now: int) -> list[Trigger]:
        cfg = resident.config
        waking_ms = window_overlap_ms(
            resident.last_active,
            now,
            cfg.utc_offset_min,
            cfg.waking_start_min,
            cfg.waking_end_min,
        )
        total_ms = now - resident.last_active
        too_long = (
            waking_ms >= cfg.inactivity_waking_h * HOUR_MS
            or total_ms >= cfg.inactivity_any_h * HOUR_MS
        )
        if not too_long or not self._inactive.raise_(resident_id, Severity.ALARM):
            return []
        hours = total_ms / HOUR_MS
        return [
            self._trigger(
                resident,
                AlarmKind.INACTIVITY,
                now,
                f"no activity for {hours:.1f} h",
                clear=False,
                inactive_h=round(hours, 2),
                inactive_waking_h=round(waking_ms / HOUR_MS, 2),
            )
        ]

    def _check_morning(self, resident_id: int, resident: _Resident, now: int) -> list[Trigger]:
        """Once per local day, at the usual wake time plus the margin: anything since a little
        before the usual wake time?"""
        cfg = resident.config
        wake = self._usual_wake.get(resident_id, cfg.usual_wake_min)
        due_min = wake + cfg.morning_margin_min
        days = (local(now, cfg.utc_offset_min) - due_min * MINUTE_MS) // DAY_MS
        deadline = days * DAY_MS + due_min * MINUTE_MS - cfg.utc_offset_min * MINUTE_MS
        if resident.morning_judged == deadline:
            return []
        resident.morning_judged = deadline
        window_start = deadline - (cfg.morning_margin_min + cfg.morning_early_min) * MINUTE_MS
        if resident.last_active >= window_start:
            return []
        if not self._no_morning.raise_(resident_id, Severity.ALARM):
            return []
        return [
            self._trigger(
                resident,
                AlarmKind.NO_MORNING_ACTIVITY,
                now,
                f"no activity by {wake // 60:02d}:{wake % 60:02d} + {cfg.morning_margin_min} min",
                clear=False,
                usual_wake_min=wake,
                deadline_ms=deadline,
                window_start_ms=window_start,
            )
        ]

    def _trigger(
        self,
        resident: _Resident,
        kind: AlarmKind,
        at_ms: int,
        what: str,
        *,
        clear: bool,
        **extra: Any,
    ) -> Trigger:
        cfg = resident.config
        subject: Subject = person_of(resident.ctx)
        return trigger(
            rule=f"{self.name}.{kind.value}",
            kind=kind,
            severity=Severity.ALARM,
            subject=subject,
            ctx=resident.ctx,
            title=f"Living alone ({who(resident.ctx)}): {what}",
            at_ms=at_ms,
            clear=clear,
            last_active_ms=resident.last_active,
            last_activity=resident.last_evidence,
            thresholds={
                "activity_motion_g": cfg.activity_motion_g,
                "inactivity_waking_h": cfg.inactivity_waking_h,
                "inactivity_any_h": cfg.inactivity_any_h,
                "waking_start_min": cfg.waking_start_min,
                "waking_end_min": cfg.waking_end_min,
                "morning_margin_min": cfg.morning_margin_min,
                "morning_early_min": cfg.morning_early_min,
                "utc_offset_min": cfg.utc_offset_min,
            },
            **extra,
        )
