"""Judge the detector on a bracelet it never saw in training: the test that matters in the field.

Leaving subjects out says how the model does on new people wearing a known device; a care home
buys whatever bracelet it buys. So each device is scored by models trained on the other devices
only. Where the left-out device's wearers also appear in the other files (SmartFallMM's watch and
wrist IMU were worn at the same time), its subjects are split into folds and each fold is scored
by a model that saw neither the device nor those people on any device.

The decision threshold for a left-out device comes from the out-of-fold scores of the other
devices' trials (leave-subjects-out over the pool, ``CrossValidation``): the judged device's own
trials never choose it.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from alerts.fall.classifier import FallClassifier
from alerts.fall.dataset import TrialSet
from alerts.fall.evaluate import Evaluation, time_scoring
from alerts.fall.preprocess import FloatArray
from alerts.fall.train import (
    SENSITIVITY_FLOOR,
    CrossValidation,
    fit_classifier,
    pooled_threshold,
)
from alerts.fall.windows import Progress, WindowTable, complete_trials, trial_scores

logger = logging.getLogger(__name__)


def person_groups(
    trials: TrialSet, on_device: npt.NDArray[np.bool_], folds: int
) -> npt.NDArray[np.int64]:
    """Fold of every trial of the device (-1 elsewhere): one fold when its wearers appear on no
    other device, else ``folds`` folds of whole people."""
    groups = np.full(len(trials), -1, dtype=np.int64)
    people = np.unique(trials.subject[on_device])
    elsewhere = np.isin(people, trials.subject[~on_device])
    if not elsewhere.any():
        groups[on_device] = 0
        return groups
    fold_of_person = {p: k % folds for k, p in enumerate(people.tolist())}
    for i in np.flatnonzero(on_device).tolist():
        groups[i] = fold_of_person[str(trials.subject[i])]
    return groups


def leave_device_out(
    trials: TrialSet,
    train_table: WindowTable,
    recorded: WindowTable,
    cv: CrossValidation,
    folds: int,
    floor: float = SENSITIVITY_FLOOR,
    progress: Progress | None = None,
) -> list[Evaluation]:
    """One evaluation per device, each scored only by models that never saw it."""
    complete = complete_trials(trials)
    older = trials.older()
    evaluations = []
    for device, name in enumerate(trials.device_names):
        on_device = trials.device == device
        groups = person_groups(trials, on_device, folds)
        score, models = _scores(trials, train_table, recorded, on_device, groups)
        recorded_oof = {"as recorded": cv.oof["as recorded"]}
        threshold = pooled_threshold(trials, recorded_oof, ~on_device, floor)
        model_of = {int(i): models[int(groups[i])] for i in np.flatnonzero(on_device)}
        evaluations.append(
            Evaluation(
                mode="leave-device-out",
                device=name,
                label=trials.label[on_device],
                activity=trials.activity[on_device],
                subject=trials.subject[on_device],
                score=score[on_device],
                detected=score[on_device] >= threshold,
                windows=len(recorded.select(on_device[recorded.trial])),
                score_ms=time_scoring(
                    trials, None, model_of.__getitem__, among=np.flatnonzero(on_device)
                ),
                thresholds=np.array([threshold]),
                older=older[on_device],
                complete=complete[on_device],
            )
        )
        logger.info("device %s left out: threshold %.3f", name, threshold)
        if progress is not None:
            progress(1)
    return evaluations


def _scores(
    trials: TrialSet,
    train_table: WindowTable,
    recorded: WindowTable,
    on_device: npt.NDArray[np.bool_],
    groups: npt.NDArray[np.int64],
) -> tuple[FloatArray, list[FallClassifier]]:
    n = len(trials)
    score = np.zeros(n)
    models = []
    for k in range(int(groups.max()) + 1):
        scored = groups == k
        seen = ~on_device & ~np.isin(trials.subject, trials.subject[scored])
        classifier = fit_classifier(train_table.select(seen[train_table.trial]))
        part = recorded.select(scored[recorded.trial])
        score[scored] = trial_scores(part, classifier.predict_proba(part.features), n)[scored]
        models.append(classifier)
    return score, models
