"""Carbon monoxide against the EN 50291-1 response points, and varying exposures."""

import pytest

from alerts.models import AlarmKind, DeviceContext, Observation, Severity, Subject, Trigger
from alerts.rules import RuleConfig
from alerts.rules.co_dose import time_to_alarm_min
from tests.test_rules_helpers import (
    MIN,
    T0,
    S,
    cleared,
    engine,
    env,
    feed,
    first_raise_at,
    raised,
    sensor,
    severities,
    ticks,
)

STEP = 30 * S


def exposure(
    ctx: DeviceContext, start: int, ppm: float, minutes: float, step: int = STEP
) -> list[Observation]:
    return [env(ctx, start + i * step, co_ppm=ppm) for i in range(int(minutes * MIN // step))]


def alarm_minute(ppm: float, minutes: float) -> float | None:
    triggers = feed(engine(), exposure(sensor(kind="co"), T0, ppm, minutes))
    at = first_raise_at(triggers, AlarmKind.CO)
    return None if at is None else (at - T0) / MIN


def test_30_ppm_does_not_alarm_within_120_minutes():
    assert alarm_minute(30, 120.5) is None


def test_50_ppm_alarms_between_60_and_90_minutes():
    at = alarm_minute(50, 95)
    assert at is not None and 60 <= at <= 90


def test_100_ppm_alarms_between_10_and_40_minutes():
    at = alarm_minute(100, 45)
    assert at is not None and 10 <= at <= 40


def test_300_ppm_alarms_within_3_minutes():
    at = alarm_minute(300, 5)
    assert at is not None and at <= 3


def test_300_ppm_reported_once_a_minute_still_alarms_in_time_between_readings():
    eng = engine()
    ctx = sensor(kind="co")
    triggers: list[Trigger] = []
    for i in range(4):
        triggers += eng.observe(env(ctx, T0 + i * MIN, co_ppm=300))
        triggers += ticks(eng, T0 + i * MIN, T0 + (i + 1) * MIN - S, S)
    assert first_raise_at(triggers, AlarmKind.CO) == T0 + 90 * S


@pytest.mark.parametrize(("ppm", "low", "high"), [(50, 60, 90), (100, 10, 40), (300, 0, 3)])
def test_default_curve_sits_inside_every_en50291_window(ppm, low, high):
    assert low < time_to_alarm_min(ppm, RuleConfig().co_time_to_alarm) < high


def test_a_mixed_exposure_adds_up_its_fractions():
    ctx = sensor(kind="co")
    obs = exposure(ctx, T0, 100, 12.5) + exposure(ctx, T0 + 25 * MIN // 2, 50, 60)
    at = first_raise_at(feed(engine(), obs), AlarmKind.CO)
    # Half the dose at 100 ppm, the other half at 50 ppm: 12.5 + 37.5 minutes.
    assert at == pytest.approx(T0 + 50 * MIN, abs=STEP)


def test_a_short_burst_then_clean_air_recovers():
    ctx = sensor(kind="co")
    obs = exposure(ctx, T0, 300, 1) + exposure(ctx, T0 + MIN, 2, 180)
    obs += exposure(ctx, T0 + 181 * MIN, 300, 1) + exposure(ctx, T0 + 182 * MIN, 2, 10)
    assert raised(feed(engine(), obs), AlarmKind.CO) == []


def test_repeated_bursts_close_together_add_up():
    ctx = sensor(kind="co")
    obs = exposure(ctx, T0, 300, 1) + exposure(ctx, T0 + MIN, 2, 10)
    obs += exposure(ctx, T0 + 11 * MIN, 300, 1) + exposure(ctx, T0 + 12 * MIN, 2, 5)
    assert raised(feed(engine(), obs), AlarmKind.CO) != []


def test_severity_follows_the_concentration_and_raises_once():
    ctx = sensor(kind="co")
    triggers = feed(engine(), exposure(ctx, T0, 100, 120))
    assert severities(triggers, AlarmKind.CO) == [Severity.ALARM]
    co = raised(triggers, AlarmKind.CO)[0]
    assert co.subject == Subject("location", 5)
    assert co.evidence["dose"] >= 1.0
    assert co.evidence["time_to_alarm_min"] == pytest.approx(25.0)
    assert co.evidence["readings"][-1]["co_ppm"] == 100
    escalated = feed(engine(), exposure(ctx, T0, 100, 20) + exposure(ctx, T0 + 20 * MIN, 400, 3))
    assert severities(escalated, AlarmKind.CO) == [Severity.CRITICAL]
    critical = feed(engine(), exposure(ctx, T0, 100, 26) + exposure(ctx, T0 + 26 * MIN, 400, 3))
    assert severities(critical, AlarmKind.CO) == [Severity.ALARM, Severity.CRITICAL]


def test_clears_after_ten_minutes_of_clean_air_and_alarms_again_if_co_returns():
    eng = engine()
    ctx = sensor(kind="co")
    triggers = feed(eng, exposure(ctx, T0, 100, 30))
    triggers += feed(eng, exposure(ctx, T0 + 30 * MIN, 5, 15))
    clears = cleared(triggers, AlarmKind.CO)
    assert len(clears) == 1
    assert clears[0].at_ms == T0 + 40 * MIN
    again = feed(eng, exposure(ctx, T0 + 45 * MIN, 100, 5))
    assert len(raised(again, AlarmKind.CO)) == 1, "the body still carries most of the dose"


def test_a_silent_sensor_is_not_assumed_to_keep_measuring():
    ctx = sensor(kind="co")
    obs = [env(ctx, T0, co_ppm=50), env(ctx, T0 + 120 * MIN, co_ppm=50)]
    assert raised(feed(engine(), obs), AlarmKind.CO) == []
