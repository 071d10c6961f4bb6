"""The fall alarm's evidence as a person reads it: |a| and tilt around the impact, and the score
against the threshold and the ask band.

A score alone does not let the person on duty judge a fall; the window does: a hard peak, then a
wrist turned by some 90° and lying still, is a fall; a peak with the posture back where it was is
a hand striking a table. Everything is computed here, in numpy, as SVG coordinates, so the
template only draws (no chart library, no network: the console works offline and on a phone).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.fall.trigger import ImpactWindow
from alerts.fall_ask import logit

FloatArray = npt.NDArray[np.float64]

POSTURE_FROM_S, POSTURE_TO_S = -4.0, -1.0
"""The posture before the fall: the mean acceleration in this span, clear of the fall itself."""
SMOOTH_S = 0.2
"""Tilt is taken on acceleration averaged over this long, so the shock of the impact does not
draw random angles: what matters is where the wrist points, not how it shook."""
MAX_POINTS = 600
"""Points per polyline at most; more add bytes on a phone, not detail."""

WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 34, 40, 12, 22
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
TILT_TICKS = (0, 45, 90, 135, 180)
SCALE_W, SCALE_LEFT = 440, 20
"""The score bar: 0–1 across ``SCALE_W``, with room at both ends for the labels."""


@dataclass(frozen=True)
class Series:
    """Plot-ready series in data units: seconds from the impact, |a| in g, tilt in degrees."""

    t_s: FloatArray
    magnitude_g: FloatArray
    tilt_deg: FloatArray


@dataclass(frozen=True)
class Tick:
    """A label on an axis, ``at`` its SVG coordinate along that axis."""

    at: float
    label: str


@dataclass(frozen=True)
class ImpactChart:
    """The window in SVG coordinates (``viewBox 0 0 WIDTH HEIGHT``)."""

    magnitude_points: str
    tilt_points: str
    impact_x: float
    range_g: float
    range_y: float | None
    """None when the device's range is far above the signal and would flatten it."""
    x_ticks: list[Tick]
    g_ticks: list[Tick]
    tilt_ticks: list[Tick]
    peak_g: float
    tilt_after_deg: float | None
    """Median tilt over the window's last 2 s: the posture the wearer ended in (None when the
    window ends within 3 s of the impact, too soon to tell)."""
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = TOP + PLOT_H
    width: int = WIDTH
    height: int = HEIGHT


@dataclass(frozen=True)
class ScoreScale:
    """The score against the decision, as probabilities on a 0–1 bar (``SCALE_W`` wide)."""

    score: float
    threshold: float
    ask_low: float | None
    ask_high: float | None
    decision: str
    """``alarm`` (above the ask band), ``ask`` (in it) or ``above`` (no band on record)."""

    width: int = SCALE_W + 2 * SCALE_LEFT
    height: int = 50

    def x(self, p: float) -> float:
        """The bar's x for probability ``p``."""
        return round(SCALE_LEFT + p * SCALE_W, 1)


def window_series(window: ImpactWindow) -> Series:
    """|a| and the tilt from the posture before the impact, sample by sample."""
    acc = np.asarray(window.acc_g, dtype=np.float64)
    t_s = np.asarray(window.t_s, dtype=np.float64)
    smoothed = _moving_mean(acc, _samples_in(SMOOTH_S, t_s))
    reference = _posture_before(t_s, acc)
    reference = reference / max(float(np.linalg.norm(reference)), 1e-9)
    cos = smoothed @ reference / np.maximum(np.linalg.norm(smoothed, axis=1), 1e-9)
    tilt = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return Series(t_s=t_s, magnitude_g=np.linalg.norm(acc, axis=1), tilt_deg=tilt)


def impact_chart(series: Series, *, range_g: float) -> ImpactChart:
    """The two polylines against seconds from the impact, with the axes' ticks."""
    t0, t1 = float(series.t_s[0]), float(series.t_s[-1])
    span = max(t1 - t0, 1e-3)
    peak = float(series.magnitude_g.max())
    g_top, g_step = _g_axis(peak, range_g)

    def x(t: float | FloatArray) -> Any:
        return LEFT + (np.asarray(t) - t0) / span * PLOT_W

    def y(value: float | FloatArray, top: float) -> Any:
        return TOP + PLOT_H - np.clip(np.asarray(value) / top, 0.0, 1.0) * PLOT_H

    magnitude = _thin(series.t_s, series.magnitude_g)
    tilt = _thin(series.t_s, series.tilt_deg)
    step = 1 if span <= 8 else 2
    after = series.t_s >= t1 - 2.0
    return ImpactChart(
        magnitude_points=_points(x(magnitude[0]), y(magnitude[1], g_top)),
        tilt_points=_points(x(tilt[0]), y(tilt[1], 180.0)),
        impact_x=round(float(x(0.0)), 1),
        range_g=range_g,
        range_y=round(float(y(range_g, g_top)), 1) if range_g <= g_top else None,
        x_ticks=[
            Tick(round(float(x(s)), 1), f"{s:+d}" if s else "0")
            for s in range(math.ceil(t0 / step) * step, math.floor(t1) + 1, step)
        ],
        g_ticks=[
            Tick(round(float(y(v, g_top)), 1), f"{v:g}")
            for v in np.arange(0.0, g_top + g_step / 2, g_step)
        ],
        tilt_ticks=[Tick(round(float(y(v, 180.0)), 1), f"{v}°") for v in TILT_TICKS],
        peak_g=round(peak, 2),
        tilt_after_deg=round(float(np.median(series.tilt_deg[after]))) if t1 >= 3.0 else None,
    )


def score_scale(evidence: Mapping[str, Any]) -> ScoreScale | None:
    """The score, the threshold and the ask band as probabilities; None without a score. The
    band is stored in log-odds around the threshold (``ask_band_logit``, absent on alarms raised
    before asking existed), the scale the decision is made on."""
    score, threshold = evidence.get("score"), evidence.get("threshold")
    if not isinstance(score, int | float) or not isinstance(threshold, int | float):
        return None
    band = evidence.get("ask_band_logit")
    low = high = None
    if isinstance(band, list) and len(band) == 2:
        low, high = (_sigmoid(logit(threshold) + float(b)) for b in band)
    if high is None:
        decision = "above"
    else:
        decision = "alarm" if score >= high else "ask"
    return ScoreScale(float(score), float(threshold), low, high, decision)


def _posture_before(t_s: FloatArray, acc: FloatArray) -> FloatArray:
    """Mean acceleration from -4 s to -1 s (gravity in the wrist's frame); a window that starts
    later falls back to whatever it holds before the impact, then to its first sample."""
    for mask in ((t_s >= POSTURE_FROM_S) & (t_s <= POSTURE_TO_S), t_s < -0.25):
        if mask.any():
            return np.asarray(acc[mask].mean(axis=0), dtype=np.float64)
    return np.asarray(acc[0], dtype=np.float64)


def _samples_in(seconds: float, t_s: FloatArray) -> int:
    steps = np.diff(t_s)
    steps = steps[steps > 0]
    return max(1, round(seconds / float(np.median(steps)))) if steps.size else 1


def _moving_mean(acc: FloatArray, k: int) -> FloatArray:
    padded = np.pad(acc, ((k // 2, k - 1 - k // 2), (0, 0)), mode="edge")
    kernel = np.ones(k) / k
    return np.stack([np.convolve(padded[:, i], kernel, mode="valid") for i in range(3)], axis=1)


def _thin(t_s: FloatArray, values: FloatArray) -> tuple[FloatArray, FloatArray]:
    """At most ``MAX_POINTS`` points, keeping each stretch's lowest and highest sample in time
    order, so the peak that decided is never thinned away."""
    if values.size <= MAX_POINTS:
        return t_s, values
    keep: set[int] = set()
    for chunk in np.array_split(np.arange(values.size), MAX_POINTS // 2):
        keep.update((int(chunk[values[chunk].argmin()]), int(chunk[values[chunk].argmax()])))
    index = np.array(sorted(keep))
    return t_s[index], values[index]


def _g_axis(peak: float, range_g: float) -> tuple[float, float]:
    """The |a| axis' top and tick step: up to the device's range when the signal comes near it
    (clipping shows), else just above the peak so a ±16 g device does not flatten the curve."""
    reach = max(range_g if range_g <= 2 * peak else peak * 1.1, 1.0)
    step = next(s for s in (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0) if reach / s <= 5)
    return math.ceil(reach / step) * step, step


def _points(xs: FloatArray, ys: FloatArray) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))
