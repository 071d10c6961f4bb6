"""The no-recovery check after a fall, on synthetic wrist streams made here (a unit test)."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.fall.recovery import is_lying_still


def _lying(rate: float, seconds: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Wrist at rest on the floor: tilted gravity, breathing sway and sensor noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, 1 / rate)
    acc = np.tile([0.3, -0.2, 0.93], (t.size, 1))
    acc[:, 0] += 0.01 * np.sin(2 * np.pi * 0.25 * t)
    acc += rng.normal(0, 0.01, acc.shape)
    return t, acc


def _walking(t: np.ndarray) -> np.ndarray:
    """Arm swing while walking: ~0.4 g at the step frequency on two axes."""
    return np.column_stack(
        [0.4 * np.sin(2 * np.pi * 1.8 * t), 0.2 * np.cos(2 * np.pi * 0.9 * t), np.zeros_like(t)]
    )


@pytest.mark.parametrize("rate", [25.0, 50.0, 238.0])
def test_person_lying_still_is_recognised(rate: float) -> None:
    t, acc = _lying(rate, 40.0)
    assert is_lying_still(t, acc)


def test_a_few_arm_movements_on_the_floor_still_count_as_lying() -> None:
    t, acc = _lying(50.0, 40.0)
    for start in (15.0, 25.0, 33.0):
        span = (t >= start) & (t < start + 1.5)
        acc[span] += _walking(t[span])
    assert is_lying_still(t, acc)


def test_getting_up_and_walking_away_is_not_lying() -> None:
    t, acc = _lying(50.0, 40.0)
    span = t >= 25.0
    acc[span] = np.array([0.0, 0.0, 1.0]) + _walking(t[span])
    assert not is_lying_still(t, acc)


def test_moving_throughout_is_not_lying() -> None:
    t, acc = _lying(50.0, 40.0)
    acc += _walking(t)
    assert not is_lying_still(t, acc)


def test_too_short_a_stream_cannot_prove_stillness() -> None:
    t, acc = _lying(50.0, 20.0)
    assert not is_lying_still(t, acc)
    assert is_lying_still(t, acc, still_for_s=15.0)


def test_long_gap_in_the_stream_is_not_vouched_for() -> None:
    t, acc = _lying(50.0, 40.0)
    keep = (t < 15.0) | (t > 35.0)
    assert not is_lying_still(t[keep], acc[keep])


def test_bursty_timestamps_do_not_matter() -> None:
    t, acc = _lying(25.0, 40.0)
    bursty = t.copy()
    for start in range(0, t.size, 8):
        bursty[start : start + 8] = t[min(start + 7, t.size - 1)] + 0.03
    assert is_lying_still(bursty, acc)


def test_invalid_span_is_rejected() -> None:
    t, acc = _lying(25.0, 40.0)
    with pytest.raises(ValueError):
        is_lying_still(t, acc, still_for_s=0.0)
