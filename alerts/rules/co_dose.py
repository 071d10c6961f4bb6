"""The carbon-monoxide dose: how far an exposure has gone towards the EN 50291 alarm point.

At a steady concentration ``c`` the alarm is due after ``T(c)`` minutes, ``T`` interpolated
log-log through the configured points. A varying exposure adds up the fractions ``dt / T(c)``
(the fractional-effective-dose idea of ISO 13571) and alarms when they reach 1, so ten minutes
at 100 ppm followed by 50 ppm alarms sooner than 50 ppm alone. Below the floor nothing adds up
and the dose decays with a half-life: the body clears CO once the air is clean.
"""

from __future__ import annotations

import math

from alerts.rules.config import RuleConfig
from alerts.rules.localtime import MINUTE_MS


def time_to_alarm_min(ppm: float, points: tuple[tuple[float, float], ...]) -> float:
    """Minutes to alarm at a steady ``ppm`` (> 0): log-log through ``points``, extended beyond
    them along the first and last segments."""
    segments = list(zip(points, points[1:], strict=False))
    segment = next((seg for seg in segments if ppm <= seg[1][0]), segments[-1])
    (low_ppm, low_min), (high_ppm, high_min) = segment
    slope = math.log(high_min / low_min) / math.log(high_ppm / low_ppm)
    return float(low_min * (ppm / low_ppm) ** slope)


def advance(dose: float, ppm: float, dt_ms: int, cfg: RuleConfig) -> float:
    """The dose after ``dt_ms`` at ``ppm``."""
    if dt_ms <= 0:
        return dose
    minutes = dt_ms / MINUTE_MS
    if ppm >= cfg.co_floor_ppm:
        return dose + minutes / time_to_alarm_min(ppm, cfg.co_time_to_alarm)
    return float(dose * 0.5 ** (minutes / cfg.co_recovery_half_life_min))
