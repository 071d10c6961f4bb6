"""Rate-of-rise heat: the least-squares slope of a sensor's recent temperatures.

A fit over the whole window rather than the difference of two readings: one noisy or corrupted
sample moves a 60-reading fit by a fraction of a degree per minute, and the rise must also
stay above the alarm rate for ``ror_hold_s`` before it counts.
"""

from __future__ import annotations

from collections import deque

from alerts.rules.config import RuleConfig
from alerts.rules.localtime import MINUTE_MS
from alerts.rules.sustain import Run

_MIN_SAMPLES = 3


def slope_per_min(samples: deque[tuple[int, float]]) -> float:
    """Least-squares slope of (ms, °C) samples in °C per minute; needs two distinct times."""
    n = len(samples)
    mean_t = sum(t for t, _ in samples) / n
    mean_v = sum(v for _, v in samples) / n
    num = sum((t - mean_t) * (v - mean_v) for t, v in samples)
    den = sum((t - mean_t) ** 2 for t, _ in samples)
    return num / den * MINUTE_MS


class RateOfRise:
    def __init__(self) -> None:
        self._samples: deque[tuple[int, float]] = deque()
        self._high = Run()
        self.rate: float | None = None

    def update(self, t: int, temp: float, cfg: RuleConfig, *, cold_room: bool) -> bool:
        """Add a reading; True while the rise has held at or above the alarm rate long enough.

        In a cold-storage room readings below ``cold_storage_ror_min_c`` restart the window:
        sub-zero swings from doors and defrost cycles are not fire.
        """
        if cold_room and temp < cfg.cold_storage_ror_min_c:
            self._samples.clear()
            self._high.reset()
            self.rate = None
            return False
        self._samples.append((t, temp))
        while self._samples and self._samples[0][0] < t - cfg.ror_window_s * 1000:
            self._samples.popleft()
        span = self._samples[-1][0] - self._samples[0][0]
        if len(self._samples) < _MIN_SAMPLES or span < cfg.ror_min_span_s * 1000:
            self.rate = None
        else:
            self.rate = slope_per_min(self._samples)
        self._high.update(self.rate is not None and self.rate >= cfg.ror_c_per_min, t)
        return self._high.holds(t, for_ms=cfg.ror_hold_s * 1000)

    def held_s(self, t: int) -> float:
        return self._high.held_ms(t) / 1000
