"""A trained gradient-boosted tree ensemble as plain arrays, evaluated with numpy.

scikit-learn's HistGradientBoostingClassifier is used for training; what ships is its trees as
JSON arrays. Loading JSON runs no code (unlike a pickle), the file stays small, and walking all
trees at once level by level scores a window in tens of microseconds instead of the ~2 ms
scikit-learn needs for a single row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.fall.preprocess import FloatArray

IntArray = npt.NDArray[np.int64]

_BIG = float(np.finfo(np.float64).max)


class TreeFormatError(ValueError):
    """The arrays do not describe a valid ensemble."""


@dataclass(frozen=True)
class TreeEnsemble:
    """Binary-classification trees; node arrays of all trees are concatenated.

    A node sends a row left when its feature is <= ``threshold`` (or is NaN and ``missing_left``);
    leaves point to themselves so every row can take the same number of steps.
    """

    baseline: float
    roots: IntArray
    feature: IntArray
    threshold: FloatArray
    missing_left: npt.NDArray[np.bool_]
    left: IntArray
    right: IntArray
    value: FloatArray
    depth: int

    @staticmethod
    def from_sklearn(model: Any) -> TreeEnsemble:
        """Copy the trees of a fitted binary HistGradientBoostingClassifier."""
        if getattr(model, "n_trees_per_iteration_", None) != 1:
            raise TreeFormatError("only binary HistGradientBoostingClassifier models are supported")
        parts: dict[str, list[npt.NDArray[Any]]] = {
            k: [] for k in ("feature", "threshold", "missing_left", "left", "right", "value")
        }
        roots, offset, depth = [], 0, 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            if np.any(nodes["is_categorical"]):
                raise TreeFormatError("categorical splits are not supported")
            own = np.arange(nodes.shape[0]) + offset
            leaf = nodes["is_leaf"].astype(bool)
            parts["feature"].append(np.where(leaf, 0, nodes["feature_idx"]))
            # +inf thresholds (all finite values go left) become the largest float: same splits,
            # valid JSON.
            threshold = np.where(leaf, 0.0, nodes["num_threshold"])
            parts["threshold"].append(np.clip(threshold, -_BIG, _BIG))
            parts["missing_left"].append(nodes["missing_go_to_left"].astype(bool))
            parts["left"].append(np.where(leaf, own, nodes["left"].astype(np.int64) + offset))
            parts["right"].append(np.where(leaf, own, nodes["right"].astype(np.int64) + offset))
            parts["value"].append(np.where(leaf, nodes["value"], 0.0))
            roots.append(offset)
            offset += nodes.shape[0]
            depth = max(depth, int(nodes["depth"].max()))
        return TreeEnsemble(
            baseline=float(np.ravel(model._baseline_prediction)[0]),
            roots=np.asarray(roots, dtype=np.int64),
            feature=np.concatenate(parts["feature"]).astype(np.int64),
            threshold=np.concatenate(parts["threshold"]).astype(np.float64),
            missing_left=np.concatenate(parts["missing_left"]),
            left=np.concatenate(parts["left"]).astype(np.int64),
            right=np.concatenate(parts["right"]).astype(np.int64),
            value=np.concatenate(parts["value"]).astype(np.float64),
            depth=depth,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "depth": self.depth,
            "roots": self.roots.tolist(),
            "feature": self.feature.tolist(),
            "threshold": self.threshold.tolist(),
            "missing_left": self.missing_left.astype(int).tolist(),
            "left": self.left.tolist(),
            "right": self.right.tolist(),
            "value": self.value.tolist(),
        }

    @staticmethod
    def from_json(data: dict[str, Any], n_features: int) -> TreeEnsemble:
        """Rebuild and check the arrays, so a damaged file fails here and not while scoring."""
        try:
            ensemble = TreeEnsemble(
                baseline=float(data["baseline"]),
                roots=np.asarray(data["roots"], dtype=np.int64),
                feature=np.asarray(data["feature"], dtype=np.int64),
                threshold=np.asarray(data["threshold"], dtype=np.float64),
                missing_left=np.asarray(data["missing_left"], dtype=np.int64).astype(bool),
                left=np.asarray(data["left"], dtype=np.int64),
                right=np.asarray(data["right"], dtype=np.int64),
                value=np.asarray(data["value"], dtype=np.float64),
                depth=int(data["depth"]),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise TreeFormatError(f"tree arrays are incomplete or malformed ({exc})") from exc
        ensemble._check(n_features)
        return ensemble

    def _check(self, n_features: int) -> None:
        n = self.feature.shape[0]
        arrays = (self.threshold, self.missing_left, self.left, self.right, self.value)
        if any(a.shape != (n,) for a in arrays):
            raise TreeFormatError("node arrays differ in length")
        for name, idx, bound in (
            ("roots", self.roots, n),
            ("left", self.left, n),
            ("right", self.right, n),
            ("feature", self.feature, n_features),
        ):
            if idx.size and (idx.min() < 0 or idx.max() >= bound):
                raise TreeFormatError(f"{name} indices out of range")
        if not (np.isfinite(self.threshold).all() and np.isfinite(self.value).all()):
            raise TreeFormatError("thresholds and values must be finite")
        if not 0 <= self.depth <= 64:
            raise TreeFormatError("implausible tree depth")

    def predict_proba(self, features: FloatArray) -> FloatArray:
        """Fall probability for each row of ``features`` (n, n_features)."""
        x = np.atleast_2d(features)
        node = np.broadcast_to(self.roots, (x.shape[0], self.roots.shape[0])).copy()
        rows = np.arange(x.shape[0])[:, None]
        for _ in range(self.depth):
            v = x[rows, self.feature[node]]
            go_left = np.where(np.isnan(v), self.missing_left[node], v <= self.threshold[node])
            node = np.where(go_left, self.left[node], self.right[node])
        raw = self.baseline + self.value[node].sum(axis=1)
        result: FloatArray = 1.0 / (1.0 + np.exp(-raw))
        return result
