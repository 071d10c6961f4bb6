"""A trained multi-layer perceptron as plain arrays, evaluated with numpy.

scikit-learn's MLPClassifier is used for training; what ships is its weights as JSON, for the
same reasons as the trees: loading runs no code, and a forward pass over one window is a few
small matrix products.

The network cannot take NaN (a window cut short at the start or end of a recording), so its
input is standardised with the training set's mean and spread, missing values become the mean,
and for the summary features a 0/1 column says which were missing: the trees learn from
missingness natively, the network needs to be told.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from alerts.fall.preprocess import FloatArray

SIGNIFICANT_DIGITS = 7
"""Weights are stored to float32 precision: scores move by under 1e-5, the file halves."""

CLIP_Z = 6.0
"""Standardised inputs are clipped here: a bracelet glitch must not dominate the sum."""


class NetworkFormatError(ValueError):
    """The arrays do not describe a valid network."""


@dataclass(frozen=True)
class Scaler:
    """Standardisation of the network input, learnt from the training windows."""

    mean: FloatArray
    scale: FloatArray
    flagged: int
    """The first ``flagged`` columns also get a missing-value indicator."""

    @staticmethod
    def fit(features: FloatArray, flagged: int) -> Scaler:
        with np.errstate(invalid="ignore"):
            mean = np.nan_to_num(np.nanmean(features, axis=0))
            scale = np.nan_to_num(np.nanstd(features, axis=0)) + 1e-6
        return Scaler(mean=mean, scale=scale, flagged=flagged)

    def transform(self, features: FloatArray) -> FloatArray:
        x = np.atleast_2d(features)
        z = np.clip(np.nan_to_num((x - self.mean) / self.scale), -CLIP_Z, CLIP_Z)
        missing = np.isnan(x[:, : self.flagged]).astype(np.float64)
        result: FloatArray = np.hstack([z, missing])
        return result


@dataclass(frozen=True)
class Network:
    """ReLU hidden layers and a logistic output, behind its input scaler."""

    scaler: Scaler
    weights: tuple[FloatArray, ...]
    biases: tuple[FloatArray, ...]

    @staticmethod
    def from_sklearn(model: Any, scaler: Scaler) -> Network:
        """Copy the weights of a fitted binary MLPClassifier trained on ``scaler``'s output."""
        if getattr(model, "activation", None) != "relu" or model.out_activation_ != "logistic":
            raise NetworkFormatError("only binary MLPClassifier models with ReLU are supported")
        return Network(
            scaler=scaler,
            weights=tuple(np.asarray(w, dtype=np.float64) for w in model.coefs_),
            biases=tuple(np.asarray(b, dtype=np.float64) for b in model.intercepts_),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "mean": _compact(self.scaler.mean),
            "scale": _compact(self.scaler.scale),
            "flagged": self.scaler.flagged,
            "weights": [_compact(w) for w in self.weights],
            "biases": [_compact(b) for b in self.biases],
        }

    @staticmethod
    def from_json(data: dict[str, Any], n_features: int) -> Network:
        """Rebuild and check the arrays, so a damaged file fails here and not while scoring."""
        try:
            network = Network(
                scaler=Scaler(
                    mean=np.asarray(data["mean"], dtype=np.float64),
                    scale=np.asarray(data["scale"], dtype=np.float64),
                    flagged=int(data["flagged"]),
                ),
                weights=tuple(np.asarray(w, dtype=np.float64) for w in data["weights"]),
                biases=tuple(np.asarray(b, dtype=np.float64) for b in data["biases"]),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise NetworkFormatError(f"network arrays are incomplete or malformed ({exc})") from exc
        network._check(n_features)
        return network

    def _check(self, n_features: int) -> None:
        scaler = self.scaler
        if scaler.mean.shape != (n_features,) or scaler.scale.shape != (n_features,):
            raise NetworkFormatError("scaler does not match the feature count")
        if not 0 <= scaler.flagged <= n_features or not np.all(scaler.scale > 0):
            raise NetworkFormatError("scaler is invalid")
        if not self.weights or len(self.weights) != len(self.biases):
            raise NetworkFormatError("layers are missing")
        width = n_features + scaler.flagged
        for w, b in zip(self.weights, self.biases, strict=True):
            if w.ndim != 2 or w.shape[0] != width or b.shape != (w.shape[1],):
                raise NetworkFormatError("layer shapes do not chain")
            width = w.shape[1]
        if width != 1:
            raise NetworkFormatError("the output layer must have one unit")
        arrays = (scaler.mean, scaler.scale, *self.weights, *self.biases)
        if not all(np.isfinite(a).all() for a in arrays):
            raise NetworkFormatError("weights must be finite")

    def predict_proba(self, features: FloatArray) -> FloatArray:
        """Fall probability for each row of ``features`` (n, n_features)."""
        h = self.scaler.transform(features)
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            h = np.maximum(h @ w + b, 0.0)
        raw = (h @ self.weights[-1] + self.biases[-1])[:, 0]
        result: FloatArray = 1.0 / (1.0 + np.exp(-np.clip(raw, -500.0, 500.0)))
        return result


def _compact(array: FloatArray) -> list[Any]:
    rounded = [float(f"{v:.{SIGNIFICANT_DIGITS}g}") for v in array.ravel().tolist()]
    result: list[Any] = np.asarray(rounded).reshape(array.shape).tolist()
    return result
