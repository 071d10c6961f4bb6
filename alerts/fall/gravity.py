"""Features that follow the slowly moving gravity direction through an impact window.

A wrist's acceleration is gravity plus movement. Averaged over half a second, it points along
gravity as seen by the bracelet, so it tells how the forearm is oriented and how fast that
changes, without knowing the bracelet's axis conventions (only angles between such directions are
used). That separates what the segment statistics in ``features`` mix up: a fall turns the
forearm and ends it in a new, still posture within a second or two of a downward plunge, whereas
lying down on a bed or sitting down turns it more slowly, and a jump or a hand hitting a table
barely turns it at all.

Every function here takes the window on the classifier's 25 Hz grid (rows ``GRID_S``, NaN where
there is no data) and returns NaN for what the data cannot show.
"""

from __future__ import annotations

import numpy as np

from alerts.fall.preprocess import FloatArray

GRID_HZ = 25.0

SMOOTH_S = 0.5
"""Span of the centred average that estimates gravity: long enough to average out a swing of
the arm, short enough to follow a fall's turn of the forearm."""

ROTATION_LAG_S = 0.2
"""The turn rate is the angle between gravity estimates this far apart."""

STILL_BLOCK_S = 0.5
"""After the impact the window is cut into blocks of this length to time the stillness."""

STILL_STD_G = 0.05
"""A block is still when the total standard deviation of the acceleration vector stays below
this: a wrist resting on the floor or on a bed, not one that is holding or handling something."""

G_MS2 = 9.81

GRAVITY_NAMES: tuple[str, ...] = (
    "max_tilt_after_s",
    "max_tilt_before_s",
    "angle_pre_far_post_early",
    "angle_post_early_post_late",
    "rotation_near",
    "rotation_rate_max",
    "descent_velocity_min",
    "descent_velocity_end",
    "time_to_still_s",
    "longest_still_s",
    "still_block_fraction",
    "pre_gravity_norm",
)


class GravityFeatures:
    """Gravity-tracking features of a grid spanning ``before_s`` before to ``after_s`` after the
    impact."""

    def __init__(self, before_s: float, after_s: float) -> None:
        self._zero = round(before_s * GRID_HZ)
        self.rows = self._zero + round(after_s * GRID_HZ) + 1
        self._half = round(SMOOTH_S * GRID_HZ) // 2
        self._lag = round(ROTATION_LAG_S * GRID_HZ)
        starts = np.arange(STILL_BLOCK_S, after_s, STILL_BLOCK_S)
        self._blocks = [(self.at(a), self.at(a + STILL_BLOCK_S)) for a in starts]

    def at(self, t_s: float) -> int:
        """Grid row of ``t_s`` seconds from the impact."""
        return self._zero + round(t_s * GRID_HZ)

    def __call__(self, grid: FloatArray) -> FloatArray:
        """Features in GRAVITY_NAMES order."""
        with np.errstate(invalid="ignore", divide="ignore"):
            smooth = self.smooth(grid)
            pre = segment_mean(grid[self.at(-2.0) : self.at(-1.0) + 1])
            early = segment_mean(grid[self.at(1.5) : self.at(3.0) + 1])
            late = segment_mean(grid[self.at(5.0) : self.rows])
            tilt_from_pre = angles_to(smooth, pre)
            tilt_to_late = angles_to(smooth, late)
            turn = _angles_between(smooth[: -self._lag], smooth[self._lag :])
            near_turn = turn[self.at(-1.0) : self.at(1.0)]
            velocity = self._descent_velocity(grid, smooth)
            time_to_still, longest, fraction = self._stillness(grid)
            return np.array(
                [
                    _nanmax(tilt_from_pre[self.at(0.5) :]),
                    _nanmax(tilt_to_late[self.at(-2.0) : self.at(-0.5)]),
                    _angle(pre, early),
                    _angle(early, late),
                    float(np.nansum(near_turn)) if np.isfinite(near_turn).any() else np.nan,
                    _nanmax(near_turn),
                    float(velocity.min()) if velocity.size else np.nan,
                    float(velocity[-1]) if velocity.size else np.nan,
                    time_to_still,
                    longest,
                    fraction,
                    float(np.linalg.norm(pre)) if pre is not None else np.nan,
                ],
                dtype=np.float64,
            )

    def smooth(self, grid: FloatArray) -> FloatArray:
        """Centred running mean over SMOOTH_S; NaN where fewer than half the samples exist."""
        valid = np.isfinite(grid[:, 0])
        filled = np.where(valid[:, None], grid, 0.0)
        sums = np.vstack([np.zeros((1, 3)), np.cumsum(filled, axis=0)])
        counts = np.concatenate([[0], np.cumsum(valid)])
        index = np.arange(self.rows)
        lo = np.clip(index - self._half, 0, self.rows)
        hi = np.clip(index + self._half + 1, 0, self.rows)
        n = counts[hi] - counts[lo]
        result: FloatArray = (sums[hi] - sums[lo]) / np.maximum(n, 1)[:, None]
        result[(n < max(2, self._half)) | ~valid] = np.nan
        return result

    def _descent_velocity(self, grid: FloatArray, smooth: FloatArray) -> FloatArray:
        """Speed (m/s, negative is down) gained along gravity from 1.2 s before the impact."""
        span = slice(self.at(-1.2), self.at(0.1))
        down = smooth[span] / np.linalg.norm(smooth[span], axis=1, keepdims=True)
        vertical = np.einsum("ij,ij->i", grid[span], down) - 1.0
        if not np.isfinite(vertical).any():
            return np.empty(0)
        result: FloatArray = np.cumsum(np.nan_to_num(vertical)) / GRID_HZ * G_MS2
        return result

    def _stillness(self, grid: FloatArray) -> tuple[float, float, float]:
        """Seconds from the impact to the first still block, longest still spell, still share."""
        spread = np.full(len(self._blocks), np.nan)
        for k, (lo, hi) in enumerate(self._blocks):
            block = grid[lo:hi]
            block = block[np.isfinite(block[:, 0])]
            if block.shape[0] >= 3:
                spread[k] = float(np.sqrt(block.var(axis=0).sum()))
        known = np.isfinite(spread)
        if not known.any():
            return np.nan, np.nan, np.nan
        still = known & (spread < STILL_STD_G)
        first = np.flatnonzero(still)
        time_to_still = (first[0] + 1) * STILL_BLOCK_S if first.size else np.nan
        runs = np.diff(np.flatnonzero(np.diff(np.concatenate([[0], still.astype(int), [0]]))))
        longest = float(runs[::2].max()) * STILL_BLOCK_S if still.any() else 0.0
        return time_to_still, longest, float(still[known].mean())


def segment_mean(segment: FloatArray) -> FloatArray | None:
    rows = segment[np.isfinite(segment[:, 0])]
    return rows.mean(axis=0) if rows.shape[0] >= 2 else None


def angles_to(vectors: FloatArray, reference: FloatArray | None) -> FloatArray:
    if reference is None:
        return np.full(vectors.shape[0], np.nan)
    return _angles_between(vectors, np.broadcast_to(reference, vectors.shape))


def _angles_between(a: FloatArray, b: FloatArray) -> FloatArray:
    cos = np.einsum("ij,ij->i", a, b) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    result: FloatArray = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return result


def _angle(a: FloatArray | None, b: FloatArray | None) -> float:
    if a is None or b is None:
        return np.nan
    return float(_angles_between(a[None, :], b[None, :])[0])


def _nanmax(x: FloatArray) -> float:
    finite = x[np.isfinite(x)]
    return float(finite.max()) if finite.size else np.nan
