"""Context and gravity-tracking features on synthetic wrist streams whose answers are known."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from alerts.fall.features import FEATURE_NAMES, window_features
from alerts.fall.trigger import cut_window, find_impacts

RATE = 50.0
IMPACT_S = 10.0


def _stream(turn_s: float, before: str = "still") -> tuple[np.ndarray, np.ndarray]:
    """Gravity on z, a forearm turn to x ending in a 3 g impact at 10 s, then lying still.

    ``turn_s`` is how long the turn takes; ``before`` is "still" or "walking" (an arm swing of
    0.3 g at 1 Hz and a step bounce of 0.25 g at 2 Hz, up to 2 s before the impact).
    """
    rng = np.random.default_rng(0)
    t = np.arange(0.0, 20.0, 1.0 / RATE)
    angle = np.clip((t - (IMPACT_S - turn_s)) / turn_s, 0.0, 1.0) * np.pi / 2
    acc = np.column_stack([np.sin(angle), np.zeros_like(t), np.cos(angle)])
    if before == "walking":
        swing = t < IMPACT_S - 2.0
        acc[swing, 1] += 0.3 * np.sin(2 * np.pi * 1.0 * t[swing])
        acc[swing, 2] += 0.25 * np.sin(2 * np.pi * 2.0 * t[swing])
    acc[:, 0] += 2.0 * np.exp(-(((t - IMPACT_S) / 0.03) ** 2))
    return t, acc + rng.normal(0.0, 0.005, acc.shape)


def _features(t: np.ndarray, acc: np.ndarray) -> dict[str, float]:
    impacts = find_impacts(t, acc)
    assert len(impacts) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        values = window_features(cut_window(t, acc, impacts[0]))
    return dict(zip(FEATURE_NAMES, values.tolist(), strict=True))


def test_a_quick_turn_into_stillness_is_measured() -> None:
    f = _features(*_stream(turn_s=0.4))
    assert f["max_tilt_after_s"] == pytest.approx(90.0, abs=10.0)
    assert f["time_to_still_s"] <= 1.5
    assert f["longest_still_s"] >= 7.0
    assert f["still_block_fraction"] >= 0.9


def test_a_slow_turn_turns_as_far_but_less_quickly() -> None:
    quick = _features(*_stream(turn_s=0.4))
    slow = _features(*_stream(turn_s=3.0))
    assert slow["angle_context_post_late"] == pytest.approx(90.0, abs=10.0)
    assert slow["rotation_rate_max"] < 0.5 * quick["rotation_rate_max"]


def test_walking_before_the_impact_shows_in_the_context() -> None:
    walking = _features(*_stream(turn_s=0.4, before="walking"))
    still = _features(*_stream(turn_s=0.4, before="still"))
    assert walking["context_periodicity"] > 0.5
    assert walking["context_total_std"] > 0.15 > still["context_total_std"]
    assert walking["context_still_fraction"] < still["context_still_fraction"]


def test_a_window_without_its_first_seconds_gives_nan_context_only() -> None:
    t, acc = _stream(turn_s=0.4)
    late = t >= IMPACT_S - 1.5
    f = _features(t[late], acc[late])
    context = [name for name in FEATURE_NAMES if "context" in name]
    assert all(np.isnan(f[name]) for name in context)
    assert np.isfinite(f["max_tilt_after_s"]) and np.isfinite(f["descent_velocity_min"])
