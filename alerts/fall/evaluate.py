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
from alerts.fall.windows import complete_trials, device_stream, production_windows

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
    """Per-trial outcome of one run; ``score_ms`` holds the time to score each window.

    ``older`` marks older adults' trials, ``complete`` the trials that hold a whole impact window
    around their largest peak; both are reported as rows of their own.
    """

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
    older: npt.NDArray[np.bool_]
    complete: npt.NDArray[np.bool_]

    @property
    def falls(self) -> int:
        return int(np.count_nonzero(self.label == 1))

    @property
    def adl(self) -> int:
        return int(np.count_nonzero(self.label == 0))

    def summary(self) -> dict[str, Any]:
        counts = self.counts()
        has_times = self.score_ms.size > 0
        older = self.counts(self.older)
        return {
            "mode": self.mode,
            "device": self.device,
            **counts,
            "older_specificity": older["specificity"],
            "windows": self.windows,
            "threshold_min": float(self.thresholds.min()),
            "threshold_max": float(self.thresholds.max()),
            "score_ms_mean": float(self.score_ms.mean()) if has_times else None,
            "score_ms_p99": float(np.percentile(self.score_ms, 99)) if has_times else None,
        }

    def counts(self, mask: npt.NDArray[np.bool_] | None = None) -> dict[str, Any]:
        """Trial figures over ``mask`` (default: every trial)."""
        mask = np.ones(self.label.size, dtype=np.bool_) if mask is None else mask
        falls = int(np.count_nonzero(mask & (self.label == 1)))
        adl = int(np.count_nonzero(mask & (self.label == 0)))
        caught = int(np.count_nonzero(mask & self.detected & (self.label == 1)))
        alarms = int(np.count_nonzero(mask & self.detected & (self.label == 0)))
        return {
            "trials": falls + adl,
            "falls": falls,
            "adl": adl,
            "detected": caught,
            "missed": falls - caught,
            "false_alarms": alarms,
            "sensitivity": caught / falls if falls else None,
            "specificity": 1.0 - alarms / adl if adl else None,
        }

    def groups(self) -> list[tuple[str, dict[str, Any]]]:
        """The rows a report shows: all trials, older adults, complete and cut-short trials."""
        rows = [("all trials", self.counts())]
        if self.older.any():
            rows.append(("older adults", self.counts(self.older)))
        if not self.complete.all():
            rows.append(("complete windows", self.counts(self.complete)))
            rows.append(("cut-short recordings", self.counts(~self.complete)))
        return rows

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
        older=trials.older(),
        complete=complete_trials(trials),
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
        older=trials.older(),
        complete=complete_trials(trials),
    )


def time_scoring(
    trials: TrialSet,
    profile: DeviceProfile | None,
    classifier_for_trial: Callable[[int], FallClassifier],
    sample: int = 200,
    among: npt.NDArray[np.intp] | None = None,
) -> FloatArray:
    """Milliseconds to score each window (features plus classifier) of an even sample of trials
    (of the trials ``among``, default all)."""
    seed = device_seed(device_name(profile))
    indices = np.arange(len(trials)) if among is None else among
    times = []
    for i in indices[:: max(1, indices.size // sample)].tolist():
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


def split_by_device(trials: TrialSet, ev: Evaluation) -> list[Evaluation]:
    """One evaluation per recording device of a pooled run."""
    parts = []
    for device, name in enumerate(trials.device_names):
        mask = trials.device == device
        parts.append(
            Evaluation(
                mode=ev.mode,
                device=name,
                label=ev.label[mask],
                activity=ev.activity[mask],
                subject=ev.subject[mask],
                score=ev.score[mask],
                detected=ev.detected[mask],
                windows=ev.windows,
                score_ms=ev.score_ms,
                thresholds=ev.thresholds,
                older=ev.older[mask],
                complete=ev.complete[mask],
            )
        )
    return parts


def device_report(left_out: list[Evaluation], pooled: list[Evaluation]) -> dict[str, Any]:
    """The JSON of ``anxin fall evaluate --leave-device-out``: a row per left-out device, the
    worst of them, and the leave-subjects-out rows over the pool."""

    def row(ev: Evaluation) -> dict[str, Any]:
        s = ev.summary()
        keys = ("sensitivity", "specificity", "older_specificity", "trials", "falls")
        return {"name": ev.device, **{k: s[k] for k in keys}, "false_alarms": s["false_alarms"]}

    devices = [row(ev) for ev in left_out]
    sens = [d["sensitivity"] for d in devices if d["sensitivity"] is not None]
    spec = [d["specificity"] for d in devices if d["specificity"] is not None]
    return {
        "devices": devices,
        "min_sensitivity": min(sens) if sens else None,
        "min_specificity": min(spec) if spec else None,
        "leave_subjects_out": [row(ev) for ev in pooled],
    }
