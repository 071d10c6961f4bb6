"""Give trials that were stored without timestamps a clock, from the best evidence at hand.

Some recordings reach us with every stamp equal (464 trials of SmartFallMM's wrist IMU: whole
sessions of nine people). The bracelet sampled them at a fixed rate, so the samples are fine; only
the rate is unknown, and that device ran at 25 Hz for some sessions and at 50 Hz for others.
Guessing wrong would play a fall at half or twice its speed. In order of trust, the rate is:

1. the rate of the same person's stamped trials in the same file (one session, one setting);
2. from a file recorded at the same time by another device on the same person (same ``source``),
   the sample count over the duration of the trial with the same subject, activity and rank,
   median over the person's trials, snapped to a rate the device is seen to use;
3. the file's nominal rate.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from alerts.fall.dataset import TrialSet

logger = logging.getLogger(__name__)

_Key = tuple[str, str, int]


def durations(trials: TrialSet) -> npt.NDArray[np.float64]:
    """Seconds from the first to the last stamp of every trial."""
    first = trials.t[trials.offsets[:-1]].astype(np.float64)
    last = trials.t[trials.offsets[1:] - 1].astype(np.float64)
    result: npt.NDArray[np.float64] = last - first
    return result


def repair_clocks(sets: Sequence[TrialSet]) -> list[TrialSet]:
    """Every set with its stampless trials re-stamped at their most likely rate."""
    return [_repair(trials, [s for s in sets if s is not trials]) for trials in sets]


def _repair(trials: TrialSet, others: Sequence[TrialSet]) -> TrialSet:
    stampless = durations(trials) <= 0.0
    if not stampless.any():
        return trials
    samples = np.diff(trials.offsets)
    stamped_rate = _stamped_rates(trials, ~stampless)
    known = sorted({float(round(r)) for r in stamped_rate.values() if r >= 5.0})
    known = known or [_nominal(trials)]
    paired = _paired_rates(trials, [o for o in others if o.source == trials.source])
    t = trials.t.copy()
    sources: dict[str, int] = defaultdict(int)
    for i in np.flatnonzero(stampless).tolist():
        subject = str(trials.subject[i])
        if subject in stamped_rate:
            rate, why = stamped_rate[subject], "own session"
        elif subject in paired:
            rate, why = _snap(paired[subject], known), "simultaneous device"
        else:
            rate, why = _nominal(trials), "nominal rate"
        lo = int(trials.offsets[i])
        t[lo : lo + int(samples[i])] = np.arange(int(samples[i]), dtype=np.float32) / rate
        sources[why] += 1
    logger.warning(
        "%s: %d trials had no timestamps; clocks rebuilt from %s",
        trials.name,
        int(stampless.sum()),
        ", ".join(f"{why} ({n})" for why, n in sorted(sources.items())),
    )
    meta = trials.meta | {"rebuilt_clocks": int(stampless.sum())}
    return dataclasses.replace(trials, t=t, meta=meta)


def _nominal(trials: TrialSet) -> float:
    return float(trials.meta.get("nominal_rate_hz") or 25.0)


def _stamped_rates(trials: TrialSet, stamped: npt.NDArray[np.bool_]) -> dict[str, float]:
    """Each person's median sample rate over their stamped trials."""
    spans = durations(trials)
    samples = np.diff(trials.offsets)
    rates: dict[str, list[float]] = defaultdict(list)
    for i in np.flatnonzero(stamped & (samples > 1)).tolist():
        rates[str(trials.subject[i])].append((samples[i] - 1) / spans[i])
    return {subject: float(np.median(r)) for subject, r in rates.items()}


def _paired_rates(trials: TrialSet, others: Sequence[TrialSet]) -> dict[str, float]:
    """Per person, median of sample count over the simultaneous recording's duration."""
    samples = np.diff(trials.offsets)
    rates: dict[str, list[float]] = defaultdict(list)
    for other in others:
        spans = durations(other)
        mine = _ranks(trials)
        for key, j in _ranks(other).items():
            i = mine.get(key)
            if i is not None and spans[j] > 0 and samples[i] > 1:
                rates[key[0]].append((samples[i] - 1) / spans[j])
    return {subject: float(np.median(r)) for subject, r in rates.items()}


def _ranks(trials: TrialSet) -> dict[_Key, int]:
    seen: dict[tuple[str, str], int] = defaultdict(int)
    keys: dict[_Key, int] = {}
    for i in range(len(trials)):
        pair = (str(trials.subject[i]), str(trials.activity[i]))
        keys[(*pair, seen[pair])] = i
        seen[pair] += 1
    return keys


def _snap(rate: float, known: Sequence[float]) -> float:
    """The known rate nearest on a log scale: 35 Hz is nearer 25 than 50 in that sense."""
    return float(min(known, key=lambda k: abs(np.log(rate / k))))
