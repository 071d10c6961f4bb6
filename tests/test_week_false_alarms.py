"""Ordinary days through the rule engine raise (almost) no alarms; the figure for a full week of
100 residents comes from ``anxin sim week``."""

from __future__ import annotations

from device_sim.week import simulate_week


def test_ordinary_days_stay_under_one_false_alarm_per_100_resident_days():
    result = simulate_week(residents=20, days=3, seed=11)
    assert result.readings == 20 * 3 * 1440
    assert result.false_alarms_per_100_resident_days <= 1.0, result.safety
    # the engine was live: batteries ran low before charging, and that was reported
    assert result.device_health["low_battery"] >= 10
