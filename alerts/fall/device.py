"""Turn a recording into what a different bracelet would have sent.

Used to augment training data and to show in evaluation that the detector does not depend on the
238 Hz, ±8 g device of the training set. The imitation covers what differs between bracelets:
sample rate (with the sensor's own low-pass filter, or without one as cheap parts do), range
(values clip), resolution (12-bit) and timestamps stamped on arrival of BLE packets in bursts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alerts.fall.preprocess import FloatArray

_RESOLUTION_BITS = 12
_MAX_BURST_S = 0.4
_MAX_LATENCY_S = 0.05


@dataclass(frozen=True)
class DeviceProfile:
    """A bracelet to imitate. ``antialias`` mimics a sensor whose filter follows its output rate."""

    rate_hz: float
    range_g: float
    antialias: bool = True
    bursty: bool = True

    def label(self) -> str:
        return f"{self.rate_hz:g} Hz ±{self.range_g:g} g"


def simulate_device(
    t_s: FloatArray, acc_g: FloatArray, profile: DeviceProfile, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Resample, clip, quantise and re-stamp a uniformly sampled recording."""
    period = 1.0 / profile.rate_hz
    phase = float(rng.uniform(0.0, period))
    t_new = np.arange(t_s[0] + phase, t_s[-1], period)
    if profile.antialias and profile.rate_hz < _source_rate(t_s):
        acc_new = _box_average(t_s, acc_g, t_new, period)
    else:
        acc_new = np.column_stack([np.interp(t_new, t_s, acc_g[:, k]) for k in range(3)])
    lsb = 2.0 * profile.range_g / 2**_RESOLUTION_BITS
    acc_new = np.clip(np.round(acc_new / lsb) * lsb, -profile.range_g, profile.range_g)
    stamps = _burst_stamps(t_new, period, rng) if profile.bursty else t_new
    return stamps, acc_new


def _source_rate(t_s: FloatArray) -> float:
    return float((t_s.shape[0] - 1) / (t_s[-1] - t_s[0]))


def _box_average(t_s: FloatArray, acc_g: FloatArray, t_new: FloatArray, width: float) -> FloatArray:
    """Mean over each output sample's period, via the running integral, so any rate ratio works."""
    dt = np.diff(t_s)[:, None]
    integral = np.vstack([np.zeros((1, 3)), np.cumsum(0.5 * (acc_g[1:] + acc_g[:-1]) * dt, axis=0)])
    lo = np.clip(t_new - width / 2, t_s[0], t_s[-1])
    hi = np.clip(t_new + width / 2, t_s[0], t_s[-1])
    out = np.empty((t_new.shape[0], 3))
    for k in range(3):
        out[:, k] = np.interp(hi, t_s, integral[:, k]) - np.interp(lo, t_s, integral[:, k])
    span = np.maximum(hi - lo, 1e-9)[:, None]
    result: FloatArray = out / span
    return result


def _burst_stamps(t_new: FloatArray, period: float, rng: np.random.Generator) -> FloatArray:
    """Samples leave the bracelet in packets; each gets its packet's (jittered) arrival time."""
    n = t_new.shape[0]
    max_burst = max(1, int(_MAX_BURST_S / period))
    stamps = np.empty(n)
    start = 0
    while start < n:
        size = int(rng.integers(1, max_burst + 1))
        end = min(n, start + size)
        stamps[start:end] = t_new[end - 1] + rng.uniform(0.0, _MAX_LATENCY_S)
        start = end
    return stamps
