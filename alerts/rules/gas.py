"""Combustible gas in two levels (%LEL), kept apart from fire: a leak is fought by shutting the
valve and airing the room, not by evacuating for flames."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from alerts.models import AlarmKind, Severity, Trigger
from alerts.rules.base import Rule, Seen, place_of, reading_evidence, trigger, where
from alerts.rules.config import RuleConfig
from alerts.rules.places import PlaceBoard
from alerts.rules.sustain import Run
from anxin import wire

_EVIDENCE_READINGS = 10


@dataclass
class _Sensor:
    level: Severity | None = None
    targets: deque[Severity | None] = field(default_factory=deque)
    clearing: Run = field(default_factory=Run)
    readings: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=_EVIDENCE_READINGS)
    )


def _target(lel: float, cfg: RuleConfig) -> Severity | None:
    if lel >= cfg.gas_high_lel_pct:
        return Severity.CRITICAL
    if lel >= cfg.gas_low_lel_pct:
        return Severity.ALARM
    return None


class GasRule(Rule):
    name = "gas"

    def __init__(self) -> None:
        self._sensors: dict[int, _Sensor] = {}
        self._board = PlaceBoard()

    def observe(self, seen: Seen) -> list[Trigger]:
        reading = seen.reading
        if not isinstance(reading, wire.Env) or reading.lel_pct is None or seen.late:
            return []
        lel, cfg, t = reading.lel_pct, seen.config, seen.t
        sensor = self._sensors.setdefault(seen.ctx.device_id, _Sensor())
        sensor.readings.append(reading_evidence(seen, lel_pct=lel))
        sensor.level = self._next_level(sensor, lel, t, cfg)
        step = self._board.update(place_of(seen.ctx), seen.ctx.device_id, sensor.level)
        if step is None:
            return []
        if step.clear:
            title = f"Combustible gas cleared in {where(seen.ctx)}"
        else:
            level = "high" if step.severity >= Severity.CRITICAL else "low"
            title = f"Combustible gas {lel:g} %LEL in {where(seen.ctx)} ({level} alarm)"
        return [
            trigger(
                rule=self.name,
                kind=AlarmKind.GAS,
                severity=step.severity,
                subject=place_of(seen.ctx),
                ctx=seen.ctx,
                title=title,
                at_ms=t,
                clear=step.clear,
                readings=list(sensor.readings),
                thresholds={
                    "low_lel_pct": cfg.gas_low_lel_pct,
                    "high_lel_pct": cfg.gas_high_lel_pct,
                    "hysteresis_lel_pct": cfg.gas_hysteresis_lel_pct,
                    "confirm_readings": cfg.gas_confirm_readings,
                    "clear_hold_s": cfg.gas_clear_hold_s,
                },
            )
        ]

    def _next_level(self, sensor: _Sensor, lel: float, t: int, cfg: RuleConfig) -> Severity | None:
        """Up a level after ``gas_confirm_readings`` readings above it; high drops to low once
        below the high level minus the hysteresis; out of alarm only after the clear hold."""
        level = sensor.level
        sensor.targets.append(_target(lel, cfg))
        while len(sensor.targets) > cfg.gas_confirm_readings:
            sensor.targets.popleft()
        above = [
            target
            for target in sensor.targets
            if target is not None and (level is None or target > level)
        ]
        if len(above) == cfg.gas_confirm_readings:
            level = min(above)
        sensor.clearing.update(lel < cfg.gas_low_lel_pct - cfg.gas_hysteresis_lel_pct, t)
        if level is not None and sensor.clearing.holds(t, for_ms=cfg.gas_clear_hold_s * 1000):
            return None
        if level == Severity.CRITICAL and lel < cfg.gas_high_lel_pct - cfg.gas_hysteresis_lel_pct:
            return Severity.ALARM
        return level
