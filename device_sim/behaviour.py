"""What each simulated device measures at a given moment: daily rhythms, noise, drift, battery.

Pure functions of (state, time, random generator) so a run is deterministic for a seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from anxin import wire


@dataclass
class BraceletState:
    """One wearer's rhythm: resting heart rate, wake and sleep hours, battery."""

    rest_hr: float
    wake_hour: float
    sleep_hour: float
    battery: float = 100.0
    charging: bool = False
    seq: int = 0
    changes: list[wire.EventName] = field(default_factory=list)
    """What the bracelet reports as events at the next send: put on the charger, worn again."""


@dataclass
class SensorState:
    """A fire/gas sensor's baseline and slow drift."""

    base_temp: float
    drift: float = 0.0
    seq: int = 0
    readings: dict[str, float] = field(default_factory=dict)


def new_bracelet(rng: np.random.Generator) -> BraceletState:
    return BraceletState(
        rest_hr=float(rng.uniform(58, 78)),
        wake_hour=float(rng.uniform(5.5, 7.5)),
        sleep_hour=float(rng.uniform(20.5, 22.5)),
        battery=float(rng.uniform(40, 100)),
    )


def new_sensor(rng: np.random.Generator, kind: str) -> SensorState:
    base = float(rng.uniform(-20, -16)) if kind == "heat_cold" else float(rng.uniform(19, 25))
    return SensorState(base_temp=base)


def _awake(state: BraceletState, hour: float) -> bool:
    return state.wake_hour <= hour < state.sleep_hour


def bracelet_vitals(
    state: BraceletState, ts_ms: int, hour: float, dt_s: float, rng: np.random.Generator
) -> wire.Vitals:
    """Heart rate follows the day (lower asleep, higher on walks); SpO2 is high with small dips;
    the battery drains ~2 %/h and the wearer charges it (bracelet off) below 15 %."""
    awake = _awake(state, hour)
    activity = 0.0
    if awake:
        activity = 0.35 if int(hour) in _WALK_HOURS else float(rng.uniform(0.02, 0.15))
    hr = state.rest_hr * (0.9 if not awake else 1.0) + 45 * activity + rng.normal(0, 2.5)
    state.battery += (30.0 if state.charging else -2.0) * dt_s / 3600
    if state.battery < 15 and not state.charging:
        state.charging = True
        state.changes.append("charging")
    if state.battery >= 99 and state.charging:
        state.battery, state.charging = 99.0, False
        state.changes.append("put_on")
    state.seq += 1
    worn = not state.charging
    return wire.Vitals(
        seq=state.seq,
        ts=ts_ms,
        hr=int(round(min(max(hr, 35), 180))) if worn else None,
        spo2=int(min(100, round(rng.normal(97, 1)))) if worn else None,
        motion_g=round(activity + abs(rng.normal(0, 0.01)), 3) if worn else 0.0,
        battery=int(state.battery),
        worn=worn,
    )


_WALK_HOURS = {9, 15}
"""Local hours of the daily walk (after breakfast, after the nap)."""


def sensor_reading(state: SensorState, kind: str, ts_ms: int, rng: np.random.Generator) -> wire.Env:
    """Clean air with sensor noise and a slow temperature drift."""
    state.drift += rng.normal(0, 0.01)
    state.seq += 1
    temp = round(state.base_temp + state.drift + rng.normal(0, 0.15), 2)
    smoke = round(abs(rng.normal(0, 0.05)), 3)
    lel = round(abs(rng.normal(0.5, 0.3)), 2)
    co = round(abs(rng.normal(2, 1)), 1)
    return wire.Env(
        seq=state.seq,
        ts=ts_ms,
        battery=95,
        smoke_obs=smoke if kind in ("smoke", "multi") else None,
        temp_c=temp if kind in ("smoke", "heat", "multi") else None,
        lel_pct=lel if kind in ("gas", "multi") else None,
        co_ppm=co if kind in ("co", "multi", "gas") else None,
    )


def bracelet_events(state: BraceletState, ts_ms: int) -> list[wire.Event]:
    """The charging / put-on events a real bracelet sends when the wearer handles it."""
    events = []
    for name in state.changes:
        state.seq += 1
        events.append(wire.Event(seq=state.seq, ts=ts_ms, event=name))
    state.changes.clear()
    return events


def heartbeat(
    state: BraceletState | SensorState, ts_ms: int, interval_s: int, battery: int
) -> wire.Heartbeat:
    """Proof of life with the device's next sequence number."""
    state.seq += 1
    return wire.Heartbeat(seq=state.seq, ts=ts_ms, interval_s=interval_s, battery=battery)


def hour_of_day(ts_ms: int, utc_offset_h: float = 8.0) -> float:
    """Local hour (China Standard Time by default) as a float, for daily rhythms."""
    return math.fmod(ts_ms / 3_600_000 + utc_offset_h, 24.0)
