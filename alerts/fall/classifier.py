"""The fall classifier: gradient-boosted trees and small neural networks, averaged.

The trees read the summary features, the networks the summary features plus the window's course
over time (``sequence``). They make different mistakes: in leave-subjects-out cross-validation
on FallAllD their average made 35 false alarms in 1992 daily activities where the trees alone
made 49, at a higher sensitivity (96.6 % against 95.8 %; the model card has the figures).
Several networks from different random starts are averaged first, because one network's score
moves with its seed more than the trees' does.

The two halves are averaged in log-odds, with equal weight: a window that one model is sure is
no fall (odds near zero) then stays unlikely even if the other is unsure, which the plain mean
of probabilities would not do. In cross-validation that made 35 false alarms where the plain
mean made 40.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from alerts.fall.network import Network, NetworkFormatError
from alerts.fall.preprocess import FloatArray
from alerts.fall.trees import TreeEnsemble, TreeFormatError


class ClassifierFormatError(ValueError):
    """The stored classifier is incomplete or does not fit the features."""


@dataclass(frozen=True)
class FallClassifier:
    trees: TreeEnsemble
    networks: tuple[Network, ...]

    def predict_proba(self, features: FloatArray) -> FloatArray:
        """Fall probability for each row of ``features`` (n, all features)."""
        x = np.atleast_2d(features)
        networks = np.mean([network.predict_proba(x) for network in self.networks], axis=0)
        raw = 0.5 * (_logit(self.trees.predict_proba(x)) + _logit(networks))
        result: FloatArray = 1.0 / (1.0 + np.exp(-raw))
        return result

    def to_json(self) -> dict[str, Any]:
        return {
            "trees": self.trees.to_json(),
            "networks": [network.to_json() for network in self.networks],
        }

    @staticmethod
    def from_json(data: dict[str, Any], n_summary: int, n_features: int) -> FallClassifier:
        """Rebuild both halves; the trees may only read the first ``n_summary`` features."""
        try:
            trees = TreeEnsemble.from_json(data["trees"], n_summary)
            networks = tuple(Network.from_json(n, n_features) for n in data["networks"])
        except (KeyError, TypeError, TreeFormatError, NetworkFormatError) as exc:
            raise ClassifierFormatError(str(exc)) from exc
        if not networks:
            raise ClassifierFormatError("no networks")
        return FallClassifier(trees=trees, networks=networks)


_EPS = 1e-9


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, _EPS, 1.0 - _EPS)
    result: FloatArray = np.log(q / (1.0 - q))
    return result
