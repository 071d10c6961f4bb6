"""Carbon monoxide by concentration and exposure time (EN 50291), per room.

A reading's concentration stands until the next reading (at most ``co_max_gap_s``); between
readings ``tick`` projects the dose forward from the last concentration without committing it,
so a sensor that reports once a minute still alarms on time, and the next reading commits
exactly what the projection assumed.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from alerts.models import AlarmKind, DeviceContext, Severity, Trigger
from alerts.rules.base import Rule, Seen, place_of, reading_evidence, trigger, where
from alerts.rules.co_dose import advance, time_to_alarm_min
from alerts.rules.config import RuleConfig
from alerts.rules.places import PlaceBoard
from alerts.rules.sustain import Run
from anxin import wire

_EVIDENCE_READINGS = 10
_ALARM_DOSE = 1.0 - 1e-9
"""The alarm dose, less what summing floating-point fractions may lose."""


@dataclass
class _Exposure:
    ctx: DeviceContext
    config: RuleConfig
    ppm: float
    t: int
    received_ms: int
    dose: float = 0.0
    alarmed: bool = False
    clean: Run = field(default_factory=Run)
    readings: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=_EVIDENCE_READINGS)
    )


class CoRule(Rule):
    name = "co"

    def __init__(self) -> None:
        self._exposures: dict[int, _Exposure] = {}
        self._board = PlaceBoard()

    def observe(self, seen: Seen) -> list[Trigger]:
        reading = seen.reading
        if not isinstance(reading, wire.Env) or reading.co_ppm is None or seen.late:
            return []
        ppm, cfg, t = reading.co_ppm, seen.config, seen.t
        exposure = self._exposures.get(seen.ctx.device_id)
        if exposure is None:
            exposure = _Exposure(seen.ctx, cfg, ppm, t, seen.received_ms)
            self._exposures[seen.ctx.device_id] = exposure
        held = min(t - exposure.t, int(cfg.co_max_gap_s * 1000))
        exposure.dose = advance(exposure.dose, exposure.ppm, held, cfg)
        driving_ppm = max(exposure.ppm, ppm)
        exposure.ctx, exposure.config = seen.ctx, cfg
        exposure.ppm, exposure.t, exposure.received_ms = ppm, t, seen.received_ms
        exposure.clean.update(ppm < cfg.co_floor_ppm, t)
        exposure.readings.append(reading_evidence(seen, co_ppm=ppm))
        return self._judge(exposure, exposure.dose, driving_ppm, t)

    def tick(self, now_ms: int) -> list[Trigger]:
        out: list[Trigger] = []
        for exposure in self._exposures.values():
            cfg = exposure.config
            if exposure.alarmed or exposure.ppm < cfg.co_floor_ppm:
                continue
            since = min(now_ms - exposure.received_ms, int(cfg.co_max_gap_s * 1000))
            projected = advance(exposure.dose, exposure.ppm, since, cfg)
            out.extend(self._judge(exposure, projected, exposure.ppm, now_ms))
        return out

    def _judge(self, exposure: _Exposure, dose: float, ppm: float, at_ms: int) -> list[Trigger]:
        cfg, ctx = exposure.config, exposure.ctx
        if exposure.clean.holds(at_ms, for_ms=cfg.co_clear_hold_s * 1000):
            exposure.alarmed = False
        elif dose >= _ALARM_DOSE:
            exposure.alarmed = True
        level: Severity | None = None
        if exposure.alarmed:
            level = Severity.CRITICAL if ppm >= cfg.co_critical_ppm else Severity.ALARM
        step = self._board.update(place_of(ctx), ctx.device_id, level)
        if step is None:
            return []
        title = (
            f"CO cleared in {where(ctx)}"
            if step.clear
            else f"CO {ppm:g} ppm in {where(ctx)}: EN 50291 exposure dose reached"
        )
        return [
            trigger(
                rule=self.name,
                kind=AlarmKind.CO,
                severity=step.severity,
                subject=place_of(ctx),
                ctx=ctx,
                title=title,
                at_ms=at_ms,
                clear=step.clear,
                dose=round(dose, 3),
                time_to_alarm_min=round(time_to_alarm_min(ppm, cfg.co_time_to_alarm), 2)
                if ppm >= cfg.co_floor_ppm
                else None,
                readings=list(exposure.readings),
                thresholds={
                    "time_to_alarm": [list(point) for point in cfg.co_time_to_alarm],
                    "floor_ppm": cfg.co_floor_ppm,
                    "critical_ppm": cfg.co_critical_ppm,
                    "recovery_half_life_min": cfg.co_recovery_half_life_min,
                    "clear_hold_s": cfg.co_clear_hold_s,
                },
            )
        ]
