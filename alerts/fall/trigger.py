"""On-device impact trigger: cheap enough for a bracelet, sensitive enough to miss no fall.

The trigger only decides *when* something worth a look happened; the server-side classifier
decides whether it was a fall. So the trigger errs towards firing: on the FallAllD wrist data every
fall trial reaches TRIGGER_G, also after simulating a 25 Hz bracelet with an anti-aliasing filter
(the weakest fall impact then peaks at 1.76 g), while about a quarter of daily-activity trials never
fire at all and so can never raise a false alarm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.fall.preprocess import (
    FloatArray,
    as_stream,
    clip_common,
    magnitude,
    regularise_times,
)

logger = logging.getLogger(__name__)

TRIGGER_G = 1.6
"""Acceleration magnitude (g, gravity included) above which a peak counts as an impact."""

REFRACTORY_S = 1.0
"""After a peak, only a larger peak within this span replaces it; smaller ones are ignored.

One second merges the several peaks of one impact (hand, then hip, then rebound) into one event
but still gives a stumble and the fall that follows it a second apart two windows of their own.
"""

WINDOW_BEFORE_S = 4.0
"""Span kept before the impact: the ~0.3-1 s descent (free fall), the posture before it and what
the wearer was doing (walking, standing, busy with their hands). In leave-subjects-out
cross-validation on FallAllD, 4 s cut false alarms by a quarter against 2 s at the same
sensitivity; 5, 6 and 8 s did no better. A bracelet keeps these seconds in a ring buffer."""

WINDOW_AFTER_S = 9.5
"""Span kept after the impact. Whether the wearer keeps still or gets on with what they were doing
is the strongest cue a wrist gives, and it needs seconds to show: in leave-subjects-out
cross-validation on FallAllD, 8 s beat 5, 6 and 7 s, and 9.5 s cut false alarms by another
fifth against 8 s (FallAllD's recordings end 10 s after the fall, so longer was not tried). The
alarm still reaches staff within ~12 s of the fall, far below their response time."""

_CONTEXT_S = 1.0


@dataclass(frozen=True)
class ImpactWindow:
    """What the bracelet sends to the server when the trigger fires.

    ``t_s`` is relative to the impact (impact at 0), ``acc_g`` is raw (as the device measured it,
    possibly clipped at the device's range). ``complete`` is False when the stream did not cover the
    whole span (start or end of a recording).
    """

    t_s: FloatArray
    acc_g: FloatArray
    impact_index: int
    impact_time_s: float
    peak_g: float
    complete: bool


def find_impacts(t_s: npt.ArrayLike, acc_g: npt.ArrayLike) -> list[int]:
    """Return sample indices of impacts: peaks of |a| >= TRIGGER_G, one per refractory period.

    Works causally (a bracelet confirms a peak REFRACTORY_S after it), on the magnitude after
    clipping to the common range, so a ±16 g device picks the same peaks as a ±4 g one.
    """
    t_raw, acc = as_stream(t_s, acc_g)
    if t_raw.shape[0] < 3:
        return []
    t = regularise_times(t_raw)
    mag = magnitude(clip_common(acc))
    rising = mag[1:-1] > mag[:-2]
    not_falling_next = mag[1:-1] >= mag[2:]
    candidates = np.flatnonzero(rising & not_falling_next & (mag[1:-1] >= TRIGGER_G)) + 1
    impacts: list[int] = []
    current = -1
    for idx in candidates.tolist():
        if current < 0:
            current = idx
        elif t[idx] - t[current] >= REFRACTORY_S:
            impacts.append(current)
            current = idx
        elif mag[idx] > mag[current]:
            current = idx
    if current >= 0:
        impacts.append(current)
    logger.debug("%d impacts in %d samples", len(impacts), t.shape[0])
    return impacts


def cut_window(t_s: npt.ArrayLike, acc_g: npt.ArrayLike, impact_index: int) -> ImpactWindow:
    """Cut the window around an impact, rebuilding the clock locally (bursts elsewhere: no harm)."""
    t_raw, acc = as_stream(t_s, acc_g)
    n = t_raw.shape[0]
    if not 0 <= impact_index < n:
        raise IndexError(f"impact_index {impact_index} outside a stream of {n} samples")
    monotone = np.maximum.accumulate(t_raw)
    t_imp_raw = monotone[impact_index]
    lo = int(np.searchsorted(monotone, t_imp_raw - WINDOW_BEFORE_S - _CONTEXT_S, side="left"))
    hi = int(np.searchsorted(monotone, t_imp_raw + WINDOW_AFTER_S + _CONTEXT_S, side="right"))
    local_t = regularise_times(t_raw[lo:hi])
    rel = local_t - local_t[impact_index - lo]
    inside = (rel >= -WINDOW_BEFORE_S) & (rel <= WINDOW_AFTER_S)
    keep = np.flatnonzero(inside)
    first, last = int(keep[0]), int(keep[-1])
    rel_kept = rel[first : last + 1]
    acc_kept = acc[lo + first : lo + last + 1]
    step = float(np.median(np.diff(rel))) if rel.shape[0] > 1 else 0.0
    complete = bool(
        rel_kept[0] <= -WINDOW_BEFORE_S + step + 1e-9
        and rel_kept[-1] >= WINDOW_AFTER_S - step - 1e-9
    )
    return ImpactWindow(
        t_s=rel_kept.copy(),
        acc_g=acc_kept.copy(),
        impact_index=impact_index - lo - first,
        impact_time_s=float(local_t[impact_index - lo]),
        peak_g=float(magnitude(clip_common(acc[impact_index : impact_index + 1]))[0]),
        complete=complete,
    )
