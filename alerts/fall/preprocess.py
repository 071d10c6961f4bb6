"""Make streams from any bracelet comparable before the trigger or the classifier sees them.

Bracelets differ in three ways that matter here: their timestamps (bursty, duplicated, sometimes
out of order because they are stamped when a BLE packet arrives, not when the sample was taken),
their range (values clip at ±4 g on some, ±16 g on others) and their rate. This module handles the
first two; the classifier's feature grid handles the third.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

COMMON_RANGE_G = 4.0
"""Every axis is clipped here so a ±16 g bracelet looks like the most limited ±4 g one."""

MAX_CLOCK_RESIDUAL_S = 0.5
"""Largest timestamp error still explained by packet bursts; beyond it we assume real gaps."""


def as_stream(t_s: npt.ArrayLike, acc_g: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate a stream once, so every later step can rely on shapes and finite values."""
    t = np.asarray(t_s, dtype=np.float64).reshape(-1)
    acc = np.asarray(acc_g, dtype=np.float64)
    if acc.ndim != 2 or acc.shape[1] != 3:
        raise ValueError(f"acc_g must have shape (N, 3), got {acc.shape}")
    if acc.shape[0] != t.shape[0]:
        raise ValueError(f"t_s has {t.shape[0]} samples but acc_g has {acc.shape[0]}")
    if not (np.isfinite(t).all() and np.isfinite(acc).all()):
        raise ValueError("t_s and acc_g must be finite; drop missing samples first")
    return t, acc


GAP_S = 1.0
"""A jump between consecutive stamps longer than any packet burst: samples were lost there."""


def regularise_times(t_s: FloatArray) -> FloatArray:
    """Recover strictly increasing sample times from arrival stamps.

    The sample order is trustworthy (it is the sensor FIFO order) but the stamps are not: a burst
    of samples delivered in one packet carries one arrival time. A bracelet samples at a fixed
    rate, so between lost packets (jumps of more than GAP_S) a straight line through (sample
    index, stamp) is the best clock we have; each such run gets its own line, so one gap does not
    bend the clock of the whole stream. If a run's stamps stray from its line by more than a
    burst could explain, we keep them and only spread each run of equal stamps evenly back to the
    previous distinct stamp, which is when that burst's samples were actually taken.
    """
    t = np.maximum.accumulate(t_s.astype(np.float64))
    cuts = np.flatnonzero(np.diff(t) > GAP_S) + 1
    if cuts.size == 0:
        return _regularise_run(t)
    runs = [_regularise_run(run) for run in np.split(t, cuts)]
    result: FloatArray = np.maximum.accumulate(np.concatenate(runs))
    return result


def _regularise_run(t: FloatArray) -> FloatArray:
    n = t.shape[0]
    if n < 2:
        return t.copy()
    centred = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
    t_mean = float(t.mean())
    slope = float(np.dot(centred, t - t_mean)) / float(np.dot(centred, centred))
    fitted: FloatArray = t_mean + slope * centred
    if slope > 0 and float(np.max(np.abs(t - fitted))) <= MAX_CLOCK_RESIDUAL_S:
        return fitted
    return _spread_duplicates(t)


def _spread_duplicates(t: FloatArray) -> FloatArray:
    values, first, counts = np.unique(t, return_index=True, return_counts=True)
    if values.shape[0] == t.shape[0]:
        return t.copy()
    steps = np.diff(values)
    typical = float(np.median(steps / counts[1:])) if steps.size else 1.0 / 25.0
    previous = np.empty_like(values)
    previous[1:] = values[:-1]
    previous[0] = values[0] - counts[0] * typical
    group = np.repeat(np.arange(values.shape[0]), counts)
    position = np.arange(t.shape[0]) - first[group] + 1
    span = values[group] - previous[group]
    result: FloatArray = previous[group] + span * position / counts[group]
    return result


def clip_common(acc_g: FloatArray) -> FloatArray:
    """Clip to the common range so peak heights mean the same on every bracelet."""
    return np.clip(acc_g, -COMMON_RANGE_G, COMMON_RANGE_G)


def magnitude(acc_g: FloatArray) -> FloatArray:
    """Orientation-free signal: bracelets disagree on axis directions, not on vector length."""
    result: FloatArray = np.sqrt(np.einsum("ij,ij->i", acc_g, acc_g))
    return result
