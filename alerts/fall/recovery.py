"""After a confirmed fall: has the person got up again, or are they still lying there?

A wrist sees "lying still" as an acceleration vector that barely changes. Getting up, walking or
even sitting up and handling things moves the wrist by tenths of a g, second after second. So we
cut the last ``still_for_s`` seconds into one-second blocks, call a block quiet when the
acceleration vector varies little within it, and call the person lying still when nearly all
blocks are quiet. A few busy blocks are allowed: someone on the floor still lifts an arm, reaches
for a phone or shifts a little, and none of that is getting up.
"""

from __future__ import annotations

import logging

import numpy as np
import numpy.typing as npt

from alerts.fall.preprocess import as_stream, clip_common, regularise_times

logger = logging.getLogger(__name__)

BLOCK_S = 1.0
"""Length of the blocks whose movement is judged one at a time."""

QUIET_STD_G = 0.08
"""A block is quiet when the total standard deviation of the acceleration vector (square root of
the summed per-axis variances) stays below this. Breathing and small hand movements of a lying
person stay around 0.01-0.05 g; walking, standing up or gesturing give 0.15-0.5 g at the wrist."""

MIN_QUIET_FRACTION = 0.8
"""Share of blocks that must be quiet: up to a fifth may hold brief arm movements."""

MIN_COVERAGE = 0.9
"""Share of the blocks that must hold data; with less we cannot vouch for the person."""

_MIN_SAMPLES_PER_BLOCK = 3


def is_lying_still(t_s: npt.ArrayLike, acc_g: npt.ArrayLike, *, still_for_s: float = 30.0) -> bool:
    """True when the last ``still_for_s`` seconds of the stream show someone who has not got up.

    Returns False when the stream covers less than that span: not yet proven still means the
    caller waits for more data rather than escalating on a guess.
    """
    if still_for_s <= 0:
        raise ValueError("still_for_s must be positive")
    t_raw, acc = as_stream(t_s, acc_g)
    if t_raw.shape[0] < 2:
        return False
    t = regularise_times(t_raw)
    end = float(t[-1])
    if end - float(t[0]) < still_for_s * MIN_COVERAGE:
        return False
    span = t >= end - still_for_s
    t, acc = t[span], clip_common(acc[span])
    n_blocks = max(1, int(round(still_for_s / BLOCK_S)))
    block = np.minimum(((t - (end - still_for_s)) / BLOCK_S).astype(np.int64), n_blocks - 1)
    counts = np.bincount(block, minlength=n_blocks)
    sums = np.stack([np.bincount(block, acc[:, k], minlength=n_blocks) for k in range(3)], 1)
    squares = np.stack(
        [np.bincount(block, acc[:, k] ** 2, minlength=n_blocks) for k in range(3)], 1
    )
    used = counts >= _MIN_SAMPLES_PER_BLOCK
    if np.count_nonzero(used) < MIN_COVERAGE * n_blocks:
        return False
    mean = sums[used] / counts[used, None]
    variance = np.clip(squares[used] / counts[used, None] - mean**2, 0.0, None)
    movement = np.sqrt(variance.sum(axis=1))
    quiet = float(np.mean(movement < QUIET_STD_G))
    logger.debug("lying-still check: %.0f%% of %d blocks quiet", 100 * quiet, movement.size)
    return quiet >= MIN_QUIET_FRACTION
