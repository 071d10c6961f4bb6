"""Falls replayed from real recordings, as a bracelet of a given rate and range would send them.

A recording is re-sampled to the bracelet (``alerts.fall.device``), the bracelet's own impact
trigger runs on it (``alerts.fall.trigger``, the same function the evaluation uses) and each
window it cuts becomes an ``impact`` reading. Without the data file the simulator says so and
uses a clearly labelled synthetic fall: a free fall, a 4 g impact and lying still.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alerts.fall.dataset import SHARED_DATA_DIR, FallDataError, TrialSet, load_trials
from alerts.fall.device import DeviceProfile, simulate_device
from alerts.fall.trigger import cut_window, find_impacts
from anxin import wire

logger = logging.getLogger(__name__)

DEFAULT_DATA = SHARED_DATA_DIR / "fallalld_wrist.npz"


def fall_data_path() -> Path:
    """``ANXIN_FALL_DATA`` if set (a clone outside the maintainers' tree points it at the
    shared recordings), else the shared datasets folder beside the repository."""
    return Path(os.environ.get("ANXIN_FALL_DATA") or DEFAULT_DATA)


@dataclass(frozen=True)
class ImpactPlan:
    """What one replayed trial sends: impact readings at offsets (ms) from the replay start."""

    source: str
    impacts: list[tuple[int, wire.Impact]]


class FallLibrary:
    """Real fall and daily-activity trials, or the synthetic fallback when there is no data."""

    def __init__(self, path: Path | None = None) -> None:
        self._trials: TrialSet | None = None
        try:
            self._trials = load_trials(path or fall_data_path())
        except FallDataError as exc:
            logger.warning("no fall recordings (%s): falls will be SYNTHETIC", exc)

    @property
    def real(self) -> bool:
        return self._trials is not None

    def falls(self) -> list[int]:
        return (
            []
            if self._trials is None
            else [int(i) for i in np.flatnonzero(self._trials.label == 1)]
        )

    def replay(self, trial: int | None, profile: DeviceProfile, seed: int) -> ImpactPlan:
        """The impact readings (seq and ts to be filled in) one trial produces on ``profile``."""
        rng = np.random.default_rng(seed)
        if self._trials is None:
            t, acc = _synthetic_fall(rng)
            source = "SYNTHETIC fall (no recordings available)"
        else:
            index = trial if trial is not None else int(rng.choice(self.falls()))
            t, acc = self._trials.trial(index)
            source = f"{self._trials.name} trial {index} ({self._trials.activity[index]})"
        t_dev, acc_dev = simulate_device(t, acc, profile, rng)
        impacts = []
        for i in find_impacts(t_dev, acc_dev):
            window = cut_window(t_dev, acc_dev, i)
            offsets_ms = np.round(window.t_s * 1000).astype(int)
            impact = wire.Impact(
                seq=0,
                ts=0,
                rate_hz=profile.rate_hz,
                range_g=profile.range_g,
                start_ms=int(offsets_ms[0]),
                acc=[[round(float(v), 4) for v in row] for row in window.acc_g],
                t_ms=[int(v) for v in offsets_ms],
            )
            impacts.append((int(round(window.impact_time_s * 1000)), impact))
        return ImpactPlan(source=source, impacts=impacts)


def _synthetic_fall(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Standing, 0.4 s free fall, a 4 g impact, then lying still: a textbook shape, not data."""
    rate = 100.0
    t = np.arange(0, 10, 1 / rate)
    acc = np.tile([0.0, 0.0, 1.0], (t.size, 1))
    fall = (t >= 4.0) & (t < 4.4)
    acc[fall] = [0.0, 0.0, 0.2]
    impact = (t >= 4.4) & (t < 4.5)
    acc[impact] = [2.5, 1.0, 3.0]
    acc[t >= 4.5] = [1.0, 0.0, 0.0]
    return t, acc + rng.normal(0, 0.02, acc.shape)
