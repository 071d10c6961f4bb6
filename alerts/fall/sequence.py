"""The course of an impact window over time, for the network half of the classifier.

The summary features in ``features`` describe each segment of a window by a few numbers, which
suits trees. A small neural network instead reads the shape of the fall itself: how magnitude,
the turn of the forearm and the vertical and horizontal movement evolve from two seconds before
the impact to four after it. The two models err on different windows, so their average makes
fewer false alarms than either (``classifier``).

Every channel is rotation-invariant for the same reason as the summary features: bracelets
disagree on axis directions and wrist sides.
"""

from __future__ import annotations

import numpy as np

from alerts.fall.gravity import GravityFeatures, angles_to, segment_mean
from alerts.fall.preprocess import FloatArray

START_S = -2.0
END_S = 4.0
STEP_S = 0.08
"""Channels are averaged over pairs of 25 Hz grid rows: 12.5 Hz still shows a fall's ~0.5 s
descent and its impact, at half the inputs."""

_RIGHT_ANGLE = 90.0
"""Tilts are given in right angles, so the network sees values near 0-2."""

_CHANNELS = ("magnitude", "tilt_to_after", "tilt_from_before", "vertical", "horizontal")
_TIMES = np.round(np.arange(START_S, END_S - 1e-9, STEP_S), 2)

SEQUENCE_NAMES: tuple[str, ...] = tuple(
    f"seq_{channel}_{t:+.2f}" for channel in _CHANNELS for t in _TIMES
)


class SequenceFeatures:
    """Channels of a grid spanning ``before_s`` before to ``after_s`` after the impact."""

    def __init__(self, before_s: float, after_s: float) -> None:
        self._gravity = GravityFeatures(before_s, after_s)
        first = self._gravity.at(START_S)
        self._span = slice(first, first + 2 * len(_TIMES))

    def __call__(self, grid: FloatArray) -> FloatArray:
        """Features in SEQUENCE_NAMES order; NaN where the window has no data."""
        with np.errstate(invalid="ignore", divide="ignore"):
            magnitude = np.sqrt(np.einsum("ij,ij->i", grid, grid))
            smooth = self._gravity.smooth(grid)
            at = self._gravity.at
            before = segment_mean(grid[at(-2.5) : at(-1.5)])
            after = segment_mean(grid[at(5.0) : self._gravity.rows])
            down = smooth / np.linalg.norm(smooth, axis=1, keepdims=True)
            along = np.einsum("ij,ij->i", grid, down)
            across = np.sqrt(np.maximum(magnitude**2 - along**2, 0.0))
            channels = (
                magnitude,
                angles_to(smooth, after) / _RIGHT_ANGLE,
                angles_to(smooth, before) / _RIGHT_ANGLE,
                along - 1.0,
                across,
            )
            return np.concatenate([_pairs(channel[self._span]) for channel in channels])


def _pairs(x: FloatArray) -> FloatArray:
    result: FloatArray = x.reshape(-1, 2).mean(axis=1)
    return result
