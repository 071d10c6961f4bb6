"""Impact windows of whole trial sets, as the production path cuts them, ready for the classifier.

Training and evaluation both go through ``production_windows`` so that the classifier learns from
exactly the windows the bracelet would send. For training, each recording is also replayed as
several other bracelets (rate, range, filter, bursty timestamps) so the model cannot lean on
anything specific to the 238 Hz, ±8 g device the data was recorded with.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.fall.dataset import TrialSet
from alerts.fall.device import DeviceProfile, simulate_device
from alerts.fall.features import N_FEATURES, window_features
from alerts.fall.preprocess import FloatArray, magnitude
from alerts.fall.trigger import (
    WINDOW_AFTER_S,
    WINDOW_BEFORE_S,
    ImpactWindow,
    cut_window,
    find_impacts,
)

logger = logging.getLogger(__name__)

Progress = Callable[[int], None]

AUGMENT_PROFILES: tuple[DeviceProfile, ...] = tuple(
    DeviceProfile(rate, range_g, antialias)
    for rate in (25.0, 50.0, 100.0)
    for range_g in (4.0, 8.0)
    for antialias in (True, False)
)
"""Bracelets imitated in training: the rates and ranges in use, with and without a sensor filter."""

MAIN_IMPACT_TOLERANCE_S = 1.5
"""A fall's impact window is the strongest trigger within this of the trial's largest peak."""

TRUNCATED_COPY_P = 0.3
"""Share of fall windows also used cut short at the end, so that a fall near the end of a recording
(where the window is truncated) is still recognised rather than taken for a non-fall by its gaps."""

MIN_TRUNCATED_AFTER_S = 2.0
"""Truncated copies keep at least this much after the impact; with less, the evidence is too thin
to call anything a fall, and teaching the model otherwise costs false alarms."""

LATE_START_COPY_P = 0.3
"""Share of fall windows also used with their start cut off. FallAllD's falls all happen 10 s into
a recording, so without these copies the model learns that a window missing its first seconds
(an impact early in a recording) is never a fall, and misses a fall that a bracelet reports just
after it was switched on or that another data set records from shortly before the fall."""

MIN_LATE_START_BEFORE_S = 1.0
"""Late-start copies keep at least this much before the impact, the descent of a fall."""


@dataclass(frozen=True)
class WindowTable:
    """One row per window. ``target``: 1 fall impact, 0 daily activity, -1 not for training
    (other triggers in a fall trial, which may be the stumble before or the rebound after).
    ``scored`` is False for the cut-short training copies, which production never sees."""

    features: FloatArray
    trial: npt.NDArray[np.int64]
    variant: npt.NDArray[np.int64]
    target: npt.NDArray[np.int8]
    scored: npt.NDArray[np.bool_]

    @staticmethod
    def empty() -> WindowTable:
        return WindowTable(
            features=np.empty((0, N_FEATURES)),
            trial=np.empty(0, dtype=np.int64),
            variant=np.empty(0, dtype=np.int64),
            target=np.empty(0, dtype=np.int8),
            scored=np.empty(0, dtype=np.bool_),
        )

    def __len__(self) -> int:
        return int(self.trial.shape[0])

    def select(self, mask: npt.NDArray[np.bool_]) -> WindowTable:
        return WindowTable(
            self.features[mask],
            self.trial[mask],
            self.variant[mask],
            self.target[mask],
            self.scored[mask],
        )


class _Rows:
    def __init__(self) -> None:
        self.features: list[FloatArray] = []
        self.meta: list[tuple[int, int, int, bool]] = []

    def add(
        self, window: ImpactWindow, trial: int, variant: int, target: int, scored: bool
    ) -> None:
        self.features.append(window_features(window))
        self.meta.append((trial, variant, target, scored))

    def table(self) -> WindowTable:
        if not self.meta:
            return WindowTable.empty()
        trial, variant, target, scored = zip(*self.meta, strict=True)
        return WindowTable(
            features=np.vstack(self.features),
            trial=np.asarray(trial, dtype=np.int64),
            variant=np.asarray(variant, dtype=np.int64),
            target=np.asarray(target, dtype=np.int8),
            scored=np.asarray(scored, dtype=np.bool_),
        )


def production_windows(t_s: FloatArray, acc_g: FloatArray) -> list[ImpactWindow]:
    """What the bracelet sends for one stream: a window around every impact the trigger finds."""
    return [cut_window(t_s, acc_g, i) for i in find_impacts(t_s, acc_g)]


def device_stream(
    t_s: FloatArray, acc_g: FloatArray, profile: DeviceProfile | None, seed: int
) -> tuple[FloatArray, FloatArray]:
    """The trial as recorded (``profile`` None) or as the given bracelet would have sent it."""
    if profile is None:
        return t_s, acc_g
    return simulate_device(t_s, acc_g, profile, np.random.default_rng(seed))


def scoring_table(
    trials: TrialSet,
    profile: DeviceProfile | None,
    seed: int,
    progress: Progress | None = None,
) -> WindowTable:
    """All production windows of every trial on one (possibly simulated) bracelet."""
    rows = _Rows()
    for i in range(len(trials)):
        t, acc = device_stream(*trials.trial(i), profile, seed + i)
        for window in production_windows(t, acc):
            rows.add(window, i, 0, int(trials.label[i]), True)
        if progress is not None:
            progress(1)
    table = rows.table()
    logger.info("%d production windows from %d trials", len(table), len(trials))
    return table


def training_table(
    trials: TrialSet, n_augment: int, seed: int, progress: Progress | None = None
) -> WindowTable:
    """Labelled windows of every trial as recorded (variant 0) and as ``n_augment`` bracelets."""
    rows = _Rows()
    for i in range(len(trials)):
        rng = np.random.default_rng([seed, i])
        t, acc = trials.trial(i)
        picks = rng.choice(len(AUGMENT_PROFILES), size=n_augment, replace=False)
        profiles: list[DeviceProfile | None] = [None, *(AUGMENT_PROFILES[k] for k in picks)]
        main_s = float(t[int(np.argmax(magnitude(acc)))])
        for variant, profile in enumerate(profiles):
            windows = production_windows(*device_stream(t, acc, profile, int(rng.integers(2**31))))
            if trials.label[i] == 0:
                for window in windows:
                    rows.add(window, i, variant, 0, True)
                continue
            main = _main_impact(windows, main_s)
            for k, window in enumerate(windows):
                rows.add(window, i, variant, 1 if k == main else -1, True)
            if main is not None and rng.random() < TRUNCATED_COPY_P:
                rows.add(_truncated(windows[main], rng), i, variant, 1, False)
            if main is not None and rng.random() < LATE_START_COPY_P:
                rows.add(_late_start(windows[main], rng), i, variant, 1, False)
        if progress is not None:
            progress(1)
    table = rows.table()
    logger.info("%d training windows from %d trials", len(table), len(trials))
    return table


def _main_impact(windows: list[ImpactWindow], main_s: float) -> int | None:
    near = [
        k for k, w in enumerate(windows) if abs(w.impact_time_s - main_s) <= MAIN_IMPACT_TOLERANCE_S
    ]
    if not near:
        return None
    return max(near, key=lambda k: windows[k].peak_g)


def _truncated(window: ImpactWindow, rng: np.random.Generator) -> ImpactWindow:
    """The window as if the recording had stopped a few seconds after the impact."""
    idx = np.flatnonzero(window.t_s <= rng.uniform(MIN_TRUNCATED_AFTER_S, WINDOW_AFTER_S - 0.2))
    return _part(window, idx)


def _late_start(window: ImpactWindow, rng: np.random.Generator) -> ImpactWindow:
    """The window as if the recording had started shortly before the impact."""
    keep = rng.uniform(MIN_LATE_START_BEFORE_S, WINDOW_BEFORE_S - 0.2)
    return _part(window, np.flatnonzero(window.t_s >= -keep))


def _part(window: ImpactWindow, idx: npt.NDArray[np.intp]) -> ImpactWindow:
    return ImpactWindow(
        t_s=window.t_s[idx],
        acc_g=window.acc_g[idx],
        impact_index=window.impact_index - int(idx[0]),
        impact_time_s=window.impact_time_s,
        peak_g=window.peak_g,
        complete=False,
    )


def trial_scores(table: WindowTable, probabilities: FloatArray, n_trials: int) -> FloatArray:
    """Highest window score per trial (0 where the trigger never fired): one alarm is enough."""
    best = np.zeros(n_trials)
    np.maximum.at(best, table.trial, probabilities)
    return best
