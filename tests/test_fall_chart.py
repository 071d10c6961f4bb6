"""The fall alarm's chart series: |a| and tilt from a synthetic window, and the score scale."""

from __future__ import annotations

import numpy as np
import pytest

from alerts.fall.trigger import ImpactWindow
from api.console.fall_chart import MAX_POINTS, impact_chart, score_scale, window_series

RATE_HZ = 50.0


def fall_on_the_side(rate_hz: float = RATE_HZ) -> ImpactWindow:
    """Still with the wrist flat (gravity on z) until 0, a 6 g impact at 0, then lying on the
    side (gravity on x) until 9.5 s."""
    t_s = np.arange(-4.0, 9.5, 1.0 / rate_hz)
    acc = np.where((t_s < 0)[:, None], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0])
    impact = int(np.argmin(np.abs(t_s)))
    acc[impact] = [4.0, 3.0, 3.3]
    return ImpactWindow(t_s, acc, impact, 0.0, float(np.linalg.norm(acc[impact])), True)


def test_a_fall_onto_the_side_peaks_at_the_impact_and_ends_tilted_by_90_degrees():
    series = window_series(fall_on_the_side())
    assert series.t_s[np.argmax(series.magnitude_g)] == pytest.approx(0.0, abs=1e-9)
    assert series.magnitude_g.max() == pytest.approx(6.0, abs=0.01)
    before, after = series.t_s < -0.5, series.t_s > 0.5
    assert np.all(series.tilt_deg[before] < 1.0)
    assert np.all(np.abs(series.tilt_deg[after] - 90.0) < 1.0)


def test_the_chart_keeps_the_peak_when_a_long_window_is_thinned():
    series = window_series(fall_on_the_side(rate_hz=238.0))
    assert series.t_s.size > MAX_POINTS
    chart = impact_chart(series, range_g=8.0)
    points = [tuple(map(float, p.split(","))) for p in chart.magnitude_points.split()]
    assert len(points) <= MAX_POINTS
    assert chart.peak_g == pytest.approx(6.0, abs=0.01)
    top = min(points, key=lambda p: p[1])  # SVG y grows downwards
    assert top[0] == pytest.approx(chart.impact_x, abs=1.0)
    assert chart.range_y is not None and chart.range_y < top[1]  # 8 g drawn above the 6 g peak
    assert chart.tilt_after_deg == 90
    assert [t.label for t in chart.x_ticks][:3] == ["-4", "-2", "0"]


def test_a_wide_range_device_is_not_drawn_flat():
    chart = impact_chart(window_series(fall_on_the_side()), range_g=64.0)
    assert chart.range_y is None
    assert chart.g_ticks[-1].label in {"6", "8"}


def test_the_ask_band_turns_from_log_odds_into_probabilities():
    scale = score_scale({"score": 0.95, "threshold": 0.5, "ask_band_logit": [-2.0, 2.0]})
    assert scale is not None
    assert scale.ask_low == pytest.approx(1 / (1 + np.exp(2.0)))
    assert scale.ask_high == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert scale.decision == "alarm"
    doubtful = score_scale({"score": 0.6, "threshold": 0.5, "ask_band_logit": [-2.0, 2.0]})
    assert doubtful is not None and doubtful.decision == "ask"


def test_older_evidence_without_a_band_or_a_score():
    older = score_scale({"score": 0.7, "threshold": 0.5})
    assert older is not None and older.ask_low is None and older.decision == "above"
    assert score_scale({"rule": "fall_classifier"}) is None


def test_a_window_that_starts_late_takes_the_posture_from_what_it_has():
    whole = fall_on_the_side()
    late = whole.t_s >= -0.6
    window = ImpactWindow(whole.t_s[late], whole.acc_g[late], 0, 0.0, whole.peak_g, complete=False)
    series = window_series(window)
    assert series.tilt_deg[0] < 1.0 and abs(series.tilt_deg[-1] - 90.0) < 1.0
