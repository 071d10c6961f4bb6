"""Train the fall classifier with leave-subjects-out cross-validation and pick its threshold.

A subject's trials never sit on both sides of a split: the same person falls and moves the same
way every time, so mixing them would report how well the model recognises people it has seen.
The decision threshold comes from out-of-fold trial scores only, and the figure we report uses,
for every fold, a threshold chosen without that fold's subjects.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.fall.classifier import FallClassifier
from alerts.fall.dataset import FallDataError, TrialSet
from alerts.fall.device import DeviceProfile
from alerts.fall.features import N_SUMMARY
from alerts.fall.model import FallModel
from alerts.fall.network import Network, Scaler
from alerts.fall.preprocess import FloatArray
from alerts.fall.trees import TreeEnsemble
from alerts.fall.windows import (
    AUGMENT_PROFILES,
    Progress,
    WindowTable,
    scoring_table,
    training_table,
    trial_scores,
)

logger = logging.getLogger(__name__)

ProgressFactory = Callable[[str, int], Progress]

N_AUGMENT = 3
"""Simulated bracelets per recording in the training set (besides the recording itself)."""

SEED = 20_201_006

SENSITIVITY_FLOOR = 0.95
"""The threshold maximises trial specificity among those that keep this trial sensitivity on
every bracelet in THRESHOLD_DEVICES: a missed fall is the worse error, so no bracelet may fall
below it, and among the thresholds that keep it the fewest false alarms win."""

THRESHOLD_DEVICES: tuple[tuple[str, DeviceProfile | None], ...] = (
    ("as recorded", None),
    ("50 Hz ±4 g", DeviceProfile(50.0, 4.0)),
    ("25 Hz ±8 g", DeviceProfile(25.0, 8.0)),
)
"""The threshold is chosen on these bracelets together, so it does not suit only one of them."""

_DEVICE_SEEDS = {"as recorded": 0, "50 Hz ±4 g": 1_000_000, "25 Hz ±8 g": 2_000_000}


def device_seed(name: str) -> int:
    """Base seed of a simulated bracelet, so training and evaluation replay identical streams."""
    return _DEVICE_SEEDS.get(name, 3_000_000)


CLASSIFIER_PARAMS: dict[str, Any] = {
    "max_iter": 300,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": False,
    "random_state": 0,
}


NETWORK_PARAMS: dict[str, Any] = {
    "hidden_layer_sizes": (64,),
    "alpha": 0.1,
    "max_iter": 200,
    "early_stopping": True,
}
"""One hidden layer of 64 units with strong weight decay: in leave-subjects-out cross-validation
alpha 0.1 made fewer false alarms than 0.01 and 0.001, and a second layer did not help."""

N_NETWORKS = 3
"""Networks from different random starts, averaged."""


def fit_classifier(table: WindowTable) -> FallClassifier:
    """Fit trees and networks on the labelled windows of ``table`` and export them.

    scikit-learn is imported here, not at module level: the services that only score windows
    (and every ``anxin`` command) would otherwise pay ~1 s and ~100 MB to import it.
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    usable = table.target >= 0
    features, target = table.features[usable], table.target[usable]
    trees = HistGradientBoostingClassifier(**CLASSIFIER_PARAMS).fit(features[:, :N_SUMMARY], target)
    scaler = Scaler.fit(features, N_SUMMARY)
    inputs = scaler.transform(features)
    networks = []
    for seed in range(N_NETWORKS):
        with warnings.catch_warnings():
            # Early stopping ends training; hitting max_iter first is expected and harmless.
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp = MLPClassifier(**NETWORK_PARAMS, random_state=seed).fit(inputs, target)
        networks.append(Network.from_sklearn(mlp, scaler))
    return FallClassifier(trees=TreeEnsemble.from_sklearn(trees), networks=tuple(networks))


def choose_threshold(
    scores: Sequence[FloatArray],
    labels: Sequence[npt.NDArray[np.int8]],
    floor: float = SENSITIVITY_FLOOR,
) -> float:
    """Best mean specificity with sensitivity >= ``floor`` on every bracelet; ties go lowest.

    ``scores[k]`` and ``labels[k]`` are the trial scores and labels on bracelet k. Candidates sit
    halfway between neighbouring scores, so a tiny score change does not flip a decision. Without
    any threshold reaching the floor everywhere, the most sensitive one is returned.
    """
    values = np.unique(np.concatenate(list(scores)))
    candidates = np.concatenate([[values[0] / 2], (values[1:] + values[:-1]) / 2])
    candidates = candidates[(candidates > 0.0) & (candidates < 1.0)]
    if candidates.size == 0:
        return 0.5
    sensitivity = np.ones(candidates.size)
    specificity = np.zeros(candidates.size)
    for score, label in zip(scores, labels, strict=True):
        falls = np.sort(score[label == 1])
        adls = np.sort(score[label == 0])
        missed = np.searchsorted(falls, candidates, side="left") / max(1, falls.size)
        sensitivity = np.minimum(sensitivity, 1.0 - missed)
        specificity += np.searchsorted(adls, candidates, side="left") / max(1, adls.size)
    feasible = sensitivity >= floor
    if not feasible.any():
        logger.warning("no threshold reaches sensitivity %.3f; using the most sensitive", floor)
        return float(candidates[0])
    best = np.max(specificity[feasible])
    return float(candidates[feasible & (specificity == best)][0])


def pooled_threshold(
    trials: TrialSet,
    scores: dict[str, FloatArray],
    mask: npt.NDArray[np.bool_],
    floor: float = SENSITIVITY_FLOOR,
) -> float:
    """The threshold from the trials in ``mask``, keeping ``floor`` on every recording device
    and every simulated bracelet in ``scores`` (out-of-fold trial scores) separately.

    A fall that never reached the trigger (score 0) is missed at every threshold; counting it
    would only make the floor unreachable and the threshold meaningless (4 % of SmartFallMM's
    watch falls hold no sample above 1.2 g), so the floor applies to the falls the trigger saw.
    Those misses still count in every reported figure.
    """
    groups, labels = [], []
    for score in scores.values():
        for device in np.unique(trials.device[mask]).tolist():
            part = mask & (trials.device == device) & ((trials.label == 0) | (score > 0))
            groups.append(score[part])
            labels.append(trials.label[part])
    return choose_threshold(groups, labels, floor)


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold trial scores per bracelet, and the threshold each fold would have used."""

    fold_of_trial: npt.NDArray[np.int64]
    fold_subjects: list[list[str]]
    oof: dict[str, FloatArray]
    fold_thresholds: FloatArray
    pooled_threshold: float
    floor: float
    fold_models: list[FallClassifier]

    def detected(self, device: str) -> npt.NDArray[np.bool_]:
        """Trial decisions, each fold judged with the threshold chosen without its subjects."""
        result: npt.NDArray[np.bool_] = self.oof[device] >= self.fold_thresholds[self.fold_of_trial]
        return result


def subject_folds(trials: TrialSet, folds: int) -> npt.NDArray[np.int64]:
    """Fold number of every trial; all trials of a subject share one fold."""
    subjects = np.unique(trials.subject)
    if not 2 <= folds <= subjects.size:
        raise FallDataError(
            f"--folds must be between 2 and the number of subjects ({subjects.size}); got {folds}"
        )
    fold = np.empty(len(trials), dtype=np.int64)
    from sklearn.model_selection import GroupKFold

    splitter = GroupKFold(n_splits=folds)
    placeholder = np.zeros((len(trials), 1))
    for k, (_, test) in enumerate(splitter.split(placeholder, groups=trials.subject)):
        fold[test] = k
    return fold


def cross_validate(
    trials: TrialSet,
    train_table: WindowTable,
    score_tables: dict[str, WindowTable],
    folds: int,
    floor: float = SENSITIVITY_FLOOR,
    progress: Progress | None = None,
) -> CrossValidation:
    """Score every trial with a model that never saw its subject, on each bracelet given."""
    fold_of_trial = subject_folds(trials, folds)
    n = len(trials)
    oof = {name: np.zeros(n) for name in score_tables}
    models = []
    for k in range(folds):
        held_out = fold_of_trial == k
        classifier = fit_classifier(train_table.select(~held_out[train_table.trial]))
        models.append(classifier)
        for name, table in score_tables.items():
            part = table.select(held_out[table.trial])
            best = trial_scores(part, classifier.predict_proba(part.features), n)
            oof[name][held_out] = best[held_out]
        logger.info("fold %d of %d done", k + 1, folds)
        if progress is not None:
            progress(1)
    pooled = [name for name, _ in THRESHOLD_DEVICES if name in oof]

    def threshold_without(mask: npt.NDArray[np.bool_]) -> float:
        return pooled_threshold(trials, {name: oof[name] for name in pooled}, mask, floor)

    fold_thresholds = np.array([threshold_without(fold_of_trial != k) for k in range(folds)])
    return CrossValidation(
        fold_of_trial=fold_of_trial,
        fold_subjects=[
            sorted(set(trials.subject[fold_of_trial == k].tolist())) for k in range(folds)
        ],
        oof=oof,
        fold_thresholds=fold_thresholds,
        pooled_threshold=threshold_without(np.ones(n, dtype=bool)),
        floor=floor,
        fold_models=models,
    )


def build_tables(
    trials: TrialSet,
    extra: dict[str, DeviceProfile] | None = None,
    progress: ProgressFactory | None = None,
) -> tuple[WindowTable, dict[str, WindowTable]]:
    """Training windows and the production windows as recorded; for a single recording device
    also on the simulated threshold bracelets (several real devices make them unnecessary), and
    on any ``extra`` bracelet."""
    n = len(trials)
    train = training_table(trials, N_AUGMENT, SEED, _task(progress, "windows for training", n))
    recorded = train.select((train.variant == 0) & train.scored)
    tables = {"as recorded": recorded}
    simulated = {name: p for name, p in THRESHOLD_DEVICES if p is not None}
    devices = (simulated if len(trials.device_names) == 1 else {}) | (extra or {})
    for name, profile in devices.items():
        tables[name] = scoring_table(
            trials, profile, device_seed(name), _task(progress, f"windows as {name}", n)
        )
    return train, tables


def _task(progress: ProgressFactory | None, name: str, total: int) -> Progress | None:
    return None if progress is None else progress(name, total)


@dataclass(frozen=True)
class TrainingResult:
    model: FallModel
    cv: CrossValidation
    train_table: WindowTable
    tables: dict[str, WindowTable]
    n_windows: int
    n_positive: int
    n_negative: int
    windows: dict[str, int]


def train(
    trials: TrialSet,
    folds: int,
    floor: float = SENSITIVITY_FLOOR,
    progress: ProgressFactory | None = None,
) -> TrainingResult:
    """Cross-validate, then fit on all subjects with the threshold from the pooled CV scores."""
    subject_folds(trials, folds)
    train_table, tables = build_tables(trials, progress=progress)
    cv = cross_validate(
        trials, train_table, tables, folds, floor, _task(progress, "cross-validation", folds)
    )
    final = _task(progress, "final model", 1)
    classifier = fit_classifier(train_table)
    if final is not None:
        final(1)
    info = {
        "dataset": trials.name,
        "devices": list(trials.device_names),
        "source": trials.source,
        "trials": len(trials),
        "subjects": int(np.unique(trials.subject).size),
        "folds": folds,
        "sensitivity_floor": floor,
        "augment_profiles": [p.label() for p in AUGMENT_PROFILES],
        "classifier": "log-odds mean of HistGradientBoostingClassifier and MLPClassifier ensemble",
        "classifier_params": CLASSIFIER_PARAMS,
        "network_params": NETWORK_PARAMS,
        "networks": N_NETWORKS,
    }
    usable = train_table.target >= 0
    return TrainingResult(
        model=FallModel(classifier=classifier, threshold=cv.pooled_threshold, info=info),
        cv=cv,
        train_table=train_table,
        tables=tables,
        n_windows=int(np.count_nonzero(usable)),
        n_positive=int(np.count_nonzero(train_table.target == 1)),
        n_negative=int(np.count_nonzero(train_table.target == 0)),
        windows={name: len(table) for name, table in tables.items()},
    )
