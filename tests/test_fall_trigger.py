"""The on-device trigger: fires on real falls on any bracelet and cuts the windows we expect."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from alerts.fall.dataset import TrialSet, load_trials
from alerts.fall.device import DeviceProfile, simulate_device
from alerts.fall.preprocess import magnitude, regularise_times
from alerts.fall.trigger import (
    REFRACTORY_S,
    TRIGGER_G,
    WINDOW_AFTER_S,
    WINDOW_BEFORE_S,
    cut_window,
    find_impacts,
)

REPO = Path(__file__).resolve().parents[1]
DATA = Path(
    os.environ.get("ANXIN_FALL_DATA", REPO.parent / "shared" / "datasets" / "fallalld_wrist.npz")
)


@pytest.fixture(scope="module")
def trials() -> TrialSet:
    if not DATA.is_file():
        pytest.skip(f"fall dataset not found at {DATA}; set ANXIN_FALL_DATA to its path")
    return load_trials(DATA)


def _stream(rate: float, seconds: float, impacts: list[tuple[float, float]]) -> tuple:
    """Gravity on z plus short bumps peaking at the given magnitude (g) at the given times (s)."""
    t = np.arange(0, seconds, 1 / rate)
    acc = np.zeros((t.size, 3))
    acc[:, 2] = 1.0
    for at, height in impacts:
        acc[:, 2] += (height - 1.0) * np.exp(-(((t - at) / 0.03) ** 2))
    return t, acc


def _fall_trials(trials: TrialSet, count: int) -> list[int]:
    falls = np.flatnonzero(trials.label == 1)
    return falls[np.linspace(0, falls.size - 1, count).astype(int)].tolist()


def test_fires_on_real_fall_near_its_largest_peak(trials: TrialSet) -> None:
    for i in _fall_trials(trials, 10):
        t, acc = trials.trial(i)
        peak_s = t[np.argmax(magnitude(acc))]
        impacts = find_impacts(t, acc)
        assert impacts, f"trial {i} ({trials.activity[i]}) did not trigger"
        assert min(abs(t[j] - peak_s) for j in impacts) <= 1.5


def test_fires_on_real_fall_as_25hz_4g_bracelet_with_bursty_stamps(trials: TrialSet) -> None:
    rng = np.random.default_rng(1)
    for i in _fall_trials(trials, 10):
        t, acc = trials.trial(i)
        peak_s = t[np.argmax(magnitude(acc))]
        t25, acc25 = simulate_device(t, acc, DeviceProfile(25.0, 4.0), rng)
        assert np.abs(acc25).max() <= 4.0
        assert np.any(np.diff(t25) == 0), "simulation should produce burst stamps"
        impacts = find_impacts(t25, acc25)
        times = regularise_times(t25)
        assert impacts, f"trial {i} did not trigger at 25 Hz ±4 g"
        assert min(abs(times[j] - peak_s) for j in impacts) <= 1.5


def test_quiet_stream_never_fires() -> None:
    t, acc = _stream(50.0, 20.0, [])
    acc += np.random.default_rng(0).normal(0, 0.05, acc.shape)
    assert find_impacts(t, acc) == []


@pytest.mark.parametrize("rate", [25.0, 50.0, 238.0])
def test_separate_impacts_fire_once_each(rate: float) -> None:
    t, acc = _stream(rate, 20.0, [(5.0, 3.0), (12.0, 2.5)])
    impacts = find_impacts(t, acc)
    assert [round(t[j]) for j in impacts] == [5, 12]


def test_smaller_peak_within_refractory_is_merged_into_larger() -> None:
    t, acc = _stream(100.0, 10.0, [(4.0, 2.0), (4.0 + REFRACTORY_S / 2, 3.5)])
    impacts = find_impacts(t, acc)
    assert len(impacts) == 1
    assert t[impacts[0]] == pytest.approx(4.0 + REFRACTORY_S / 2, abs=0.02)


def test_peak_below_threshold_is_ignored() -> None:
    t, acc = _stream(100.0, 10.0, [(4.0, TRIGGER_G - 0.2)])
    assert find_impacts(t, acc) == []


def test_clipped_device_still_fires() -> None:
    t, acc = _stream(50.0, 10.0, [(4.0, 9.0)])
    assert len(find_impacts(t, np.clip(acc, -4.0, 4.0))) == 1


def test_duplicate_and_jittered_stamps_give_same_impacts() -> None:
    t, acc = _stream(50.0, 20.0, [(5.0, 3.0), (12.0, 2.5)])
    bursty = t.copy()
    for start in range(0, t.size, 10):
        bursty[start : start + 10] = t[min(start + 9, t.size - 1)] + 0.02
    assert find_impacts(bursty, acc) == find_impacts(t, acc)


def test_window_is_relative_to_impact_and_spans_the_configured_time() -> None:
    t, acc = _stream(50.0, 20.0, [(10.0, 3.0)])
    (impact,) = find_impacts(t, acc)
    window = cut_window(t, acc, impact)
    assert window.t_s[window.impact_index] == 0.0
    assert window.t_s[0] == pytest.approx(-WINDOW_BEFORE_S, abs=0.03)
    assert window.t_s[-1] == pytest.approx(WINDOW_AFTER_S, abs=0.03)
    assert window.acc_g.shape == (window.t_s.size, 3)
    assert window.complete
    assert window.peak_g == pytest.approx(3.0, abs=0.1)
    assert window.impact_time_s == pytest.approx(10.0, abs=0.03)


def test_window_at_end_of_recording_is_marked_incomplete() -> None:
    t, acc = _stream(50.0, 20.0, [(18.0, 3.0)])
    (impact,) = find_impacts(t, acc)
    window = cut_window(t, acc, impact)
    assert not window.complete
    assert window.t_s[-1] < WINDOW_AFTER_S


def test_bad_input_is_rejected_with_a_clear_error() -> None:
    t, acc = _stream(50.0, 5.0, [])
    with pytest.raises(ValueError, match="shape"):
        find_impacts(t, acc[:, :2])
    acc[3, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        find_impacts(t, acc)
    with pytest.raises(IndexError):
        cut_window(t, np.nan_to_num(acc), t.size)
