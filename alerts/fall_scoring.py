"""The shipped fall classifier applied to an ``impact`` reading from the wire."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alerts.fall.model import FallModel
from alerts.fall.recovery import is_lying_still
from alerts.fall.trigger import ImpactWindow
from anxin import wire

STILL_AFTER_S = 8.0
"""Seconds after the impact, within the window's 9.5, that must show a wrist lying still for a
doubtful fall to alarm without asking: someone who does not move may not be able to press."""


def stored_impact(
    *,
    seq: int,
    ts: int,
    rate_hz: float,
    range_g: float,
    start_ms: int,
    flat_acc: Sequence[float],
    t_ms: Sequence[int] | None,
) -> wire.Impact:
    """An ``impact_window`` row (``acc`` stored flat, x y z per sample) as the reading the
    bracelet sent, so that stored windows are read back by the same code as live ones."""
    return wire.Impact(
        seq=seq,
        ts=ts,
        rate_hz=float(rate_hz),
        range_g=float(range_g),
        start_ms=int(start_ms),
        acc=[list(flat_acc[i : i + 3]) for i in range(0, len(flat_acc) - 2, 3)],
        t_ms=None if t_ms is None else list(t_ms),
    )


def impact_window(reading: wire.Impact) -> ImpactWindow:
    """Rebuild the bracelet's window: sample times from ``t_ms`` or from the rate."""
    acc = np.asarray(reading.acc, dtype=np.float64)
    if reading.t_ms is not None:
        t_s = np.asarray(reading.t_ms, dtype=np.float64) / 1000.0
    else:
        offsets = (
            reading.start_ms + np.arange(acc.shape[0], dtype=np.float64) * 1000.0 / reading.rate_hz
        )
        t_s = offsets / 1000.0
    index = int(np.argmin(np.abs(t_s)))
    magnitude = np.linalg.norm(acc, axis=1)
    return ImpactWindow(
        t_s=t_s,
        acc_g=acc,
        impact_index=index,
        impact_time_s=0.0,
        peak_g=float(magnitude.max()),
        complete=True,
    )


class ShippedFallScorer:
    """The shipped model on wire readings, and the window's own evidence of lying still."""

    def __init__(self, model: FallModel) -> None:
        self._model = model
        self.threshold = model.threshold
        self.version = model.version

    @classmethod
    def load(cls) -> ShippedFallScorer:
        return cls(FallModel.load())

    def score_impact(self, reading: wire.Impact) -> float | None:
        return float(self._model.score(impact_window(reading)))

    def still_after_impact(self, reading: wire.Impact) -> bool:
        window = impact_window(reading)
        after = window.t_s >= 0
        return is_lying_still(window.t_s[after], window.acc_g[after], still_for_s=STILL_AFTER_S)
