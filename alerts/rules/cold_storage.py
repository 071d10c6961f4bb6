"""Cold-storage rooms of funeral facilities: the air too warm for too long.

Sustained, not instant: moving a body in or out opens the door and warms the air for minutes,
while a failed compressor or a door left open keeps it warm. A separate kind from fire; the
fire rule watches the same sensors for heat.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from alerts.models import AlarmKind, Severity, Trigger
from alerts.rules.base import Rule, Seen, place_of, reading_evidence, trigger, where
from alerts.rules.places import PlaceBoard
from alerts.rules.sustain import Run
from anxin import wire

COLD_STORAGE = "cold_storage"
_EVIDENCE_READINGS = 10


@dataclass
class _Sensor:
    warm: Run = field(default_factory=Run)
    cold: Run = field(default_factory=Run)
    alarmed: bool = False
    readings: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=_EVIDENCE_READINGS)
    )


class ColdStorageRule(Rule):
    name = "cold_storage"

    def __init__(self) -> None:
        self._sensors: dict[int, _Sensor] = {}
        self._board = PlaceBoard()

    def observe(self, seen: Seen) -> list[Trigger]:
        reading = seen.reading
        if (
            seen.ctx.location_kind != COLD_STORAGE
            or not isinstance(reading, wire.Env)
            or reading.temp_c is None
            or seen.late
        ):
            return []
        temp, cfg, t = reading.temp_c, seen.config, seen.t
        sensor = self._sensors.setdefault(seen.ctx.device_id, _Sensor())
        sensor.warm.update(temp > cfg.cold_storage_max_c, t)
        sensor.cold.update(temp <= cfg.cold_storage_max_c - cfg.cold_storage_hysteresis_c, t)
        sensor.readings.append(reading_evidence(seen, temp_c=temp))
        if sensor.warm.holds(t, for_ms=cfg.cold_storage_sustain_min * 60_000):
            sensor.alarmed = True
        elif sensor.cold.holds(t, for_ms=cfg.cold_storage_clear_min * 60_000):
            sensor.alarmed = False
        level = Severity.ALARM if sensor.alarmed else None
        step = self._board.update(place_of(seen.ctx), seen.ctx.device_id, level)
        if step is None:
            return []
        title = (
            f"Cold storage {where(seen.ctx)} back below {cfg.cold_storage_max_c:g} °C"
            if step.clear
            else f"Cold storage {where(seen.ctx)} at {temp:g} °C, above "
            f"{cfg.cold_storage_max_c:g} °C for {sensor.warm.held_ms(t) // 60_000} min"
        )
        return [
            trigger(
                rule=self.name,
                kind=AlarmKind.COLD_STORAGE,
                severity=step.severity,
                subject=place_of(seen.ctx),
                ctx=seen.ctx,
                title=title,
                at_ms=t,
                clear=step.clear,
                readings=list(sensor.readings),
                thresholds={
                    "max_c": cfg.cold_storage_max_c,
                    "sustain_min": cfg.cold_storage_sustain_min,
                    "hysteresis_c": cfg.cold_storage_hysteresis_c,
                    "clear_min": cfg.cold_storage_clear_min,
                },
            )
        ]
