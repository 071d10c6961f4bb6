"""Fire: smoke, fixed heat and rate-of-rise heat, per room, confirmed by a second sensor.

A sensor enters alarm on ``fire_confirm_readings`` consecutive readings over the smoke or
fixed-heat threshold, or on a sustained rate of rise; it leaves alarm only after
``fire_clear_hold_s`` without any of them, so a fire that smoulders on and off stays one alarm.
One sensor in alarm is an ALARM; a second sensor of the same room in alarm within
``fire_second_sensor_s`` makes it CRITICAL, since two independent sensors rarely fail together.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from alerts.models import AlarmKind, Severity, Subject, Trigger
from alerts.rules.base import Rule, Seen, place_of, reading_evidence, trigger, where
from alerts.rules.cold_storage import COLD_STORAGE
from alerts.rules.config import RuleConfig
from alerts.rules.places import PlaceBoard
from alerts.rules.rate_of_rise import RateOfRise
from alerts.rules.sustain import Run
from anxin import wire

_EVIDENCE_READINGS = 10


@dataclass
class _Detector:
    smoke_over: int = 0
    smoke: bool = False
    heat_over: int = 0
    heat: bool = False
    rise: RateOfRise = field(default_factory=RateOfRise)
    rising: bool = False
    active: bool = False
    quiet: Run = field(default_factory=Run)
    causes: dict[str, Any] = field(default_factory=dict)
    readings: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=_EVIDENCE_READINGS)
    )

    def firing(self) -> bool:
        return self.smoke or self.heat or self.rising


@dataclass
class _Witness:
    device_uid: str
    at_ms: int
    causes: dict[str, Any]


class FireRule(Rule):
    name = "fire"

    def __init__(self) -> None:
        self._detectors: dict[int, _Detector] = {}
        self._witnesses: dict[Subject, dict[int, _Witness]] = {}
        self._board = PlaceBoard()

    def observe(self, seen: Seen) -> list[Trigger]:
        reading = seen.reading
        if not isinstance(reading, wire.Env) or seen.late:
            return []
        if reading.smoke_obs is None and reading.temp_c is None:
            return []
        ctx, cfg, t = seen.ctx, seen.config, seen.t
        detector = self._detectors.setdefault(ctx.device_id, _Detector())
        detector.readings.append(
            reading_evidence(seen, smoke_obs=reading.smoke_obs, temp_c=reading.temp_c)
        )
        self._sense(detector, reading, t, cfg, cold_room=ctx.location_kind == COLD_STORAGE)
        place = place_of(ctx)
        witnesses = self._witnesses.setdefault(place, {})
        if detector.firing():
            detector.active = True
            detector.quiet.reset()
            witnesses[ctx.device_id] = _Witness(ctx.device_uid, t, dict(detector.causes))
        else:
            detector.quiet.update(True, t)
            if detector.quiet.holds(t, for_ms=cfg.fire_clear_hold_s * 1000):
                detector.active = False
        window_ms = cfg.fire_second_sensor_s * 1000
        recent = {
            device_id: witness
            for device_id, witness in witnesses.items()
            if t - window_ms <= witness.at_ms
        }
        confirmed = detector.active and len(recent) >= 2
        level = None
        if detector.active:
            level = Severity.CRITICAL if confirmed else Severity.ALARM
        step = self._board.update(place, ctx.device_id, level)
        if step is None:
            return []
        if step.clear:
            witnesses.clear()
            title = f"Fire alarm cleared in {where(ctx)}"
        elif step.severity >= Severity.CRITICAL:
            title = f"Fire confirmed in {where(ctx)} by {len(recent)} sensors"
        else:
            title = f"Fire alarm in {where(ctx)}: {', '.join(detector.causes)}"
        return [
            trigger(
                rule=self.name,
                kind=AlarmKind.FIRE,
                severity=step.severity,
                subject=place,
                ctx=ctx,
                title=title,
                at_ms=t,
                clear=step.clear,
                causes=dict(detector.causes),
                confirmed_by=[
                    {
                        "device_id": device_id,
                        "device_uid": w.device_uid,
                        "at_ms": w.at_ms,
                        "causes": w.causes,
                    }
                    for device_id, w in sorted(recent.items())
                ],
                readings=list(detector.readings),
                thresholds=_thresholds(cfg),
            )
        ]

    def _sense(
        self, detector: _Detector, reading: wire.Env, t: int, cfg: RuleConfig, *, cold_room: bool
    ) -> None:
        smoke, temp = reading.smoke_obs, reading.temp_c
        if smoke is not None:
            detector.smoke_over = (
                detector.smoke_over + 1 if smoke >= cfg.smoke_alarm_pct_per_m else 0
            )
            if detector.smoke_over >= cfg.fire_confirm_readings:
                detector.smoke = True
            elif smoke < cfg.smoke_clear_pct_per_m:
                detector.smoke = False
            _note(detector.causes, "smoke", detector.smoke, {"smoke_obs": smoke, "ts": reading.ts})
        if temp is not None:
            detector.heat_over = detector.heat_over + 1 if temp >= cfg.heat_fixed_c else 0
            if detector.heat_over >= cfg.fire_confirm_readings:
                detector.heat = True
            elif temp < cfg.heat_fixed_c - cfg.heat_hysteresis_c:
                detector.heat = False
            _note(detector.causes, "heat", detector.heat, {"temp_c": temp, "ts": reading.ts})
            detector.rising = detector.rise.update(t, temp, cfg, cold_room=cold_room)
            rate = detector.rise.rate
            _note(
                detector.causes,
                "rate_of_rise",
                detector.rising,
                {
                    "rate_c_per_min": None if rate is None else round(rate, 2),
                    "held_s": detector.rise.held_s(t),
                    "temp_c": temp,
                    "ts": reading.ts,
                },
            )


def _note(causes: dict[str, Any], cause: str, on: bool, values: dict[str, Any]) -> None:
    if on:
        causes[cause] = values
    else:
        causes.pop(cause, None)


def _thresholds(cfg: RuleConfig) -> dict[str, float]:
    return {
        "smoke_alarm_pct_per_m": cfg.smoke_alarm_pct_per_m,
        "smoke_clear_pct_per_m": cfg.smoke_clear_pct_per_m,
        "heat_fixed_c": cfg.heat_fixed_c,
        "ror_c_per_min": cfg.ror_c_per_min,
        "ror_window_s": cfg.ror_window_s,
        "ror_hold_s": cfg.ror_hold_s,
        "confirm_readings": cfg.fire_confirm_readings,
        "second_sensor_s": cfg.fire_second_sensor_s,
        "clear_hold_s": cfg.fire_clear_hold_s,
    }
