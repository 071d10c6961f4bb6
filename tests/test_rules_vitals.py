"""Heart rate and SpO2 against the resident's limits: sustained, cleared with hysteresis."""

from dataclasses import replace
from typing import Any

from alerts.models import AlarmKind, DeviceContext, Observation, Severity, Subject
from alerts.rules import RuleConfig
from tests.test_rules_helpers import (
    MIN,
    T0,
    S,
    bracelet,
    cleared,
    engine,
    feed,
    first_raise_at,
    raised,
    vitals,
)


def hr_run(
    ctx: DeviceContext, start: int, values: list[int], step: int = 10 * S, **fields: Any
) -> list[Observation]:
    return [vitals(ctx, start + i * step, hr=v, **fields) for i, v in enumerate(values)]


def test_sustained_low_heart_rate_alarms_after_sixty_seconds():
    eng = engine()
    triggers = feed(eng, hr_run(bracelet(), T0, [40] * 10))
    hr = raised(triggers, AlarmKind.VITALS_HR)
    assert len(hr) == 1, "raised once, not on every reading"
    assert hr[0].at_ms == T0 + 60 * S
    assert hr[0].severity == Severity.ALARM
    assert hr[0].subject == Subject("resident", 100)
    assert hr[0].evidence["thresholds"]["hr_low"] == 45
    assert [r["hr"] for r in hr[0].evidence["readings"]] == [40] * 7


def test_a_single_abnormal_sample_does_not_alarm():
    values = [70, 70, 160, 70, 70, 70, 70, 70, 70, 70]
    assert raised(feed(engine(), hr_run(bracelet(), T0, values)), AlarmKind.VITALS_HR) == []


def test_short_excursion_below_sixty_seconds_does_not_alarm():
    values = [70] + [130] * 6 + [70] * 5  # 50 s above the limit
    assert raised(feed(engine(), hr_run(bracelet(), T0, values)), AlarmKind.VITALS_HR) == []


def test_resident_limits_come_from_the_device_context():
    ctx = bracelet(hr_high=100)
    triggers = feed(engine(), hr_run(ctx, T0, [110] * 8))
    assert len(raised(triggers, AlarmKind.VITALS_HR)) == 1
    assert raised(feed(engine(), hr_run(bracelet(), T0, [110] * 8)), AlarmKind.VITALS_HR) == []


def test_readings_off_the_wrist_or_without_values_are_ignored():
    ctx = bracelet()
    obs = hr_run(ctx, T0, [30] * 10, worn=False)
    obs += [vitals(ctx, T0 + 100 * S + i * 10 * S, hr=None, spo2=None) for i in range(10)]
    assert raised(feed(engine(), obs), AlarmKind.VITALS_HR) == []


def test_a_long_gap_breaks_the_run():
    ctx = bracelet()
    obs = [vitals(ctx, T0, hr=35), vitals(ctx, T0 + 20 * MIN, hr=35)]
    assert raised(feed(engine(), obs), AlarmKind.VITALS_HR) == []


def test_sparse_readings_spanning_a_minute_alarm():
    ctx = bracelet()
    obs = [vitals(ctx, T0, hr=35), vitals(ctx, T0 + 5 * MIN, hr=35)]
    assert first_raise_at(feed(engine(), obs), AlarmKind.VITALS_HR) == T0 + 5 * MIN


def test_clears_only_after_sustained_return_inside_the_hysteresis_band():
    eng = engine()
    ctx = bracelet()
    feed(eng, hr_run(ctx, T0, [140] * 8))
    # 118 is inside the limit (120) but within the 5 bpm hysteresis: no clear, no new alarm.
    band = feed(eng, hr_run(ctx, T0 + 80 * S, [118] * 20))
    assert band == []
    back = feed(eng, hr_run(ctx, T0 + 280 * S, [80] * 14))
    clears = cleared(back, AlarmKind.VITALS_HR)
    assert len(clears) == 1
    assert clears[0].at_ms == T0 + 280 * S + 120 * S


def test_alarm_is_raised_again_after_a_clear():
    eng = engine()
    ctx = bracelet()
    values = [140] * 8 + [80] * 14 + [140] * 8
    triggers = feed(eng, hr_run(ctx, T0, values))
    assert len(raised(triggers, AlarmKind.VITALS_HR)) == 2
    assert len(cleared(triggers, AlarmKind.VITALS_HR)) == 1


def test_low_spo2_is_its_own_alarm_and_alarms_beside_heart_rate():
    ctx = bracelet(spo2_low=92)
    obs = [vitals(ctx, T0 + i * 10 * S, hr=130, spo2=88) for i in range(8)]
    triggers = feed(engine(), obs)
    spo2 = raised(triggers, AlarmKind.VITALS_SPO2)
    assert len(spo2) == 1 and len(raised(triggers, AlarmKind.VITALS_HR)) == 1
    assert spo2[0].evidence["thresholds"]["spo2_low"] == 92
    assert spo2[0].evidence["readings"][-1]["spo2"] == 88


def test_spo2_at_the_limit_is_not_an_alarm():
    obs = [vitals(bracelet(), T0 + i * 10 * S, spo2=90) for i in range(12)]
    assert raised(feed(engine(), obs), AlarmKind.VITALS_SPO2) == []


def test_sustain_time_can_be_overridden_per_resident():
    config = RuleConfig(residents={100: {"vitals_sustain_s": 20}})
    triggers = feed(engine(config), hr_run(bracelet(), T0, [40] * 4))
    assert first_raise_at(triggers, AlarmKind.VITALS_HR) == T0 + 20 * S
    other = replace(bracelet(2), resident_id=101)
    assert raised(feed(engine(config), hr_run(other, T0, [40] * 4)), AlarmKind.VITALS_HR) == []
