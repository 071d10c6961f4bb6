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
from alerts.fall.preprocess import FloatArray, clip_common, magnitude, regularise_times
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

CUT_COPY_P = 0.3
"""Share of training windows also used cut short at the end, and (drawn apart) with their start
cut off, as a recording that stops soon after an impact or starts shortly before one gives them.
Falls and daily activities are cut alike: a model that sees only cut falls learns that "the
window ends early" is evidence of a fall, and raises alarms on every short recording."""

MIN_TRUNCATED_AFTER_S = 2.0
"""Cut-short copies keep at least this much after the impact."""

MIN_LATE_START_BEFORE_S = 1.0
"""Late-start copies keep at least this much before the impact, the descent of a fall."""

COMPLETE_BEFORE_S = WINDOW_BEFORE_S
COMPLETE_AFTER_S = WINDOW_AFTER_S
"""A trial is complete when it covers a whole impact window around its largest peak."""


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
    return simulate_device(regularise_times(t_s), acc_g, profile, np.random.default_rng(seed))


def source_rate(t_s: FloatArray) -> float:
    """Samples per second of a recording, from its first and last stamp."""
    span = float(t_s[-1] - t_s[0])
    return (t_s.shape[0] - 1) / span if span > 0 else 0.0


def complete_trials(trials: TrialSet) -> npt.NDArray[np.bool_]:
    """Trials that hold a whole impact window around their largest peak, as a bracelet would
    send it; the others (recordings cut by hand around the activity) are reported apart."""
    result = np.zeros(len(trials), dtype=np.bool_)
    for i in range(len(trials)):
        t, acc = trials.trial(i)
        peak = float(t[int(np.argmax(magnitude(clip_common(acc))))])
        result[i] = peak - t[0] >= COMPLETE_BEFORE_S and t[-1] - peak >= COMPLETE_AFTER_S
    return result


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
    """Labelled windows of every trial as recorded (variant 0) and as ``n_augment`` bracelets.

    A simulated bracelet never samples faster than the recording it replays: interpolating a
    32 Hz watch up to 100 Hz would invent a signal no device sends.
    """
    rows = _Rows()
    for i in range(len(trials)):
        rng = np.random.default_rng([seed, i])
        t, acc = trials.trial(i)
        slower = [p for p in AUGMENT_PROFILES if p.rate_hz <= source_rate(t)]
        picks = rng.choice(len(slower), size=min(n_augment, len(slower)), replace=False)
        profiles: list[DeviceProfile | None] = [None, *(slower[k] for k in picks)]
        main_s = float(t[int(np.argmax(magnitude(acc)))])
        for variant, profile in enumerate(profiles):
            windows = production_windows(*device_stream(t, acc, profile, int(rng.integers(2**31))))
            if trials.label[i] == 0:
                labelled = [(window, 0) for window in windows]
            else:
                main = _main_impact(windows, main_s)
                labelled = [(w, 1 if k == main else -1) for k, w in enumerate(windows)]
            for window, target in labelled:
                rows.add(window, i, variant, target, True)
                if target < 0:
                    continue
                if rng.random() < CUT_COPY_P and _after_s(window) > MIN_TRUNCATED_AFTER_S:
                    rows.add(_truncated(window, rng), i, variant, target, False)
                if rng.random() < CUT_COPY_P and _before_s(window) > MIN_LATE_START_BEFORE_S:
                    rows.add(_late_start(window, rng), i, variant, target, False)
        if progress is not None:
            progress(1)
    table = rows.table()
    logger.info("%d training windows from %d trials", len(table), len(trials))
    return table


def _after_s(window: ImpactWindow) -> float:
    return float(window.t_s[-1])


def _before_s(window: ImpactWindow) -> float:
    return float(-window.t_s[0])


def _main_impact(windows: list[ImpactWindow], main_s: float) -> int | None:
    near = [
        k for k, w in enumerate(windows) if abs(w.impact_time_s - main_s) <= MAIN_IMPACT_TOLERANCE_S
    ]
    if not near:
        return None
    return max(near, key=lambda k: windows[k].peak_g)


def _truncated(window: ImpactWindow, rng: np.random.Generator) -> ImpactWindow:
    """The window as if the recording had stopped a few seconds after the impact."""
    end = rng.uniform(MIN_TRUNCATED_AFTER_S, min(WINDOW_AFTER_S - 0.2, _after_s(window)))
    return _part(window, np.flatnonzero(window.t_s <= end))


def _late_start(window: ImpactWindow, rng: np.random.Generator) -> ImpactWindow:
    """The window as if the recording had started shortly before the impact."""
    keep = rng.uniform(MIN_LATE_START_BEFORE_S, min(WINDOW_BEFORE_S - 0.2, _before_s(window)))
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
