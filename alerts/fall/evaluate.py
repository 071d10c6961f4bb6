"""Trial-level evaluation of the production path: trigger, impact window, classifier.

A fall trial counts as detected when any of its windows is confirmed as a fall; a daily-activity
trial counts as a false alarm when any of its windows is. That is what staff experience: one
alarm per event, whatever the detector did internally.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.fall.classifier import FallClassifier
from alerts.fall.dataset import TrialSet
from alerts.fall.device import DeviceProfile
from alerts.fall.features import window_features
from alerts.fall.model import FallModel
from alerts.fall.preprocess import FloatArray
from alerts.fall.train import (
    SENSITIVITY_FLOOR,
    THRESHOLD_DEVICES,
    CrossValidation,
    ProgressFactory,
    build_tables,
    cross_validate,
    device_seed,
    subject_folds,
)
from alerts.fall.windows import device_stream, production_windows

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActivityRow:
    activity: str
    kind: str
    trials: int
    alarms: int

    @property
    def rate(self) -> float:
        return self.alarms / self.trials if self.trials else 0.0


@dataclass(frozen=True)
class Evaluation:
    """Per-trial outcome of one run; ``score_ms`` holds the time to score each window."""

    mode: str
    device: str
    label: npt.NDArray[np.int8]
    activity: npt.NDArray[np.str_]
    subject: npt.NDArray[np.str_]
    score: FloatArray
    detected: npt.NDArray[np.bool_]
    windows: int
    score_ms: FloatArray
    thresholds: FloatArray

    @property
    def falls(self) -> int:
        return int(np.count_nonzero(self.label == 1))

    @property
    def adl(self) -> int:
        return int(np.count_nonzero(self.label == 0))

    def summary(self) -> dict[str, Any]:
        caught = int(np.count_nonzero(self.detected & (self.label == 1)))
        alarms = int(np.count_nonzero(self.detected & (self.label == 0)))
        has_times = self.score_ms.size > 0
        return {
            "mode": self.mode,
            "device": self.device,
            "trials": int(self.label.size),
            "falls": self.falls,
            "adl": self.adl,
            "detected": caught,
            "missed": self.falls - caught,
            "false_alarms": alarms,
            "sensitivity": caught / self.falls if self.falls else None,
            "specificity": 1.0 - alarms / self.adl if self.adl else None,
            "windows": self.windows,
            "threshold_min": float(self.thresholds.min()),
            "threshold_max": float(self.thresholds.max()),
            "score_ms_mean": float(self.score_ms.mean()) if has_times else None,
            "score_ms_p99": float(np.percentile(self.score_ms, 99)) if has_times else None,
        }

    def per_activity(self) -> list[ActivityRow]:
        rows = []
        for code in sorted(set(self.activity.tolist())):
            mask = self.activity == code
            is_fall = bool(np.all(self.label[mask] == 1))
            rows.append(
                ActivityRow(
                    activity=code,
                    kind="fall" if is_fall else "daily activity",
                    trials=int(np.count_nonzero(mask)),
                    alarms=int(np.count_nonzero(self.detected & mask)),
                )
            )
        return rows


def device_profile(rate_hz: float | None, range_g: float | None) -> DeviceProfile | None:
    """The bracelet to simulate, or None to use the recordings as they are."""
    if rate_hz is None and range_g is None:
        return None
    return DeviceProfile(rate_hz or 238.0, range_g or 8.0)


def evaluate_model(
    trials: TrialSet,
    model: FallModel,
    profile: DeviceProfile | None,
    progress: ProgressFactory | None = None,
) -> Evaluation:
    """Run the shipped model over every trial exactly as production would, timing each window."""
    n = len(trials)
    seed = device_seed(device_name(profile))
    advance = None if progress is None else progress("scoring trials", n)
    best = np.zeros(n)
    times: list[float] = []
    windows = 0
    for i in range(n):
        t, acc = device_stream(*trials.trial(i), profile, seed + i)
        for window in production_windows(t, acc):
            start = time.perf_counter()
            score = model.score(window)
            times.append((time.perf_counter() - start) * 1000.0)
            best[i] = max(best[i], score)
            windows += 1
        if advance is not None:
            advance(1)
    logger.info("scored %d windows of %d trials with the shipped model", windows, n)
    return Evaluation(
        mode="shipped model",
        device=device_name(profile),
        label=trials.label,
        activity=trials.activity,
        subject=trials.subject,
        score=best,
        detected=best >= model.threshold,
        windows=windows,
        score_ms=np.asarray(times),
        thresholds=np.array([model.threshold]),
    )


def evaluate_loso(
    trials: TrialSet,
    folds: int,
    profile: DeviceProfile | None,
    floor: float = SENSITIVITY_FLOOR,
    progress: ProgressFactory | None = None,
) -> Evaluation:
    """Leave-subjects-out: retrain per fold, score held-out subjects, threshold chosen without them.

    Time per window (features plus classifier) is measured on a sample of held-out trials, each
    scored by its own fold's model.
    """
    subject_folds(trials, folds)
    name = device_name(profile)
    known = {n: p for n, p in THRESHOLD_DEVICES}
    extra = {} if name in known or profile is None else {name: profile}
    train_table, tables = build_tables(trials, extra=extra, progress=progress)
    cv = cross_validate(
        trials,
        train_table,
        tables,
        folds,
        floor,
        None if progress is None else progress("cross-validation", folds),
    )
    return cv_evaluation(trials, cv, profile, windows=len(tables[name]))


def cv_evaluation(
    trials: TrialSet, cv: CrossValidation, profile: DeviceProfile | None, windows: int
) -> Evaluation:
    """The cross-validated outcome on one bracelet, with scoring time measured per fold model."""
    name = device_name(profile)
    return Evaluation(
        mode=f"leave-subjects-out ({len(cv.fold_models)} folds)",
        device=name,
        label=trials.label,
        activity=trials.activity,
        subject=trials.subject,
        score=cv.oof[name],
        detected=cv.detected(name),
        windows=windows,
        score_ms=time_scoring(trials, profile, lambda i: cv.fold_models[int(cv.fold_of_trial[i])]),
        thresholds=cv.fold_thresholds,
    )


def time_scoring(
    trials: TrialSet,
    profile: DeviceProfile | None,
    classifier_for_trial: Callable[[int], FallClassifier],
    sample: int = 200,
) -> FloatArray:
    """Milliseconds to score each window (features plus classifier) of an even sample of trials."""
    seed = device_seed(device_name(profile))
    step = max(1, len(trials) // sample)
    times = []
    for i in range(0, len(trials), step):
        classifier = classifier_for_trial(i)
        t, acc = device_stream(*trials.trial(i), profile, seed + i)
        for window in production_windows(t, acc):
            start = time.perf_counter()
            classifier.predict_proba(window_features(window))
            times.append((time.perf_counter() - start) * 1000.0)
    return np.asarray(times)


def device_name(profile: DeviceProfile | None) -> str:
    if profile is None:
        return "as recorded"
    for name, known in THRESHOLD_DEVICES:
        if known == profile:
            return name
    return profile.label()
