"""Combustible gas: low and high %LEL levels, confirmation, hysteresis, clearing per room."""

from alerts.models import AlarmKind, DeviceContext, Observation, Severity, Subject
from alerts.rules import RuleConfig
from tests.test_rules_helpers import (
    T0,
    S,
    cleared,
    engine,
    env,
    feed,
    first_raise_at,
    of,
    raised,
    sensor,
    severities,
)


def lel(ctx: DeviceContext, start: int, values: list[float], step: int = S) -> list[Observation]:
    return [env(ctx, start + i * step, lel_pct=v) for i, v in enumerate(values)]


def test_low_then_high_level_on_a_rising_leak():
    values = [round(60 * i / 20, 1) for i in range(21)] + [60.0] * 5
    triggers = feed(engine(), lel(sensor(kind="gas"), T0, values))
    gas = raised(triggers, AlarmKind.GAS)
    assert [t.severity for t in gas] == [Severity.ALARM, Severity.CRITICAL]
    assert gas[0].subject == Subject("location", 5)
    assert gas[0].evidence["readings"][-1]["lel_pct"] >= 25
    assert gas[1].evidence["readings"][-1]["lel_pct"] >= 50
    assert gas[1].evidence["thresholds"]["high_lel_pct"] == 50.0
    assert "high alarm" in gas[1].title


def test_just_below_the_low_level_or_one_spike_does_not_alarm():
    values = [24.9] * 20 + [80.0] + [3.0] * 10
    assert raised(feed(engine(), lel(sensor(kind="gas"), T0, values)), AlarmKind.GAS) == []


def test_a_level_needs_two_consecutive_readings():
    triggers = feed(engine(), lel(sensor(kind="gas"), T0, [30.0, 30.0]))
    assert first_raise_at(triggers, AlarmKind.GAS) == T0 + S


def test_wobbling_around_the_low_level_raises_once_and_does_not_clear():
    values = [26.0, 26.0] + [24.0, 26.0] * 60
    triggers = feed(engine(), lel(sensor(kind="gas"), T0, values))
    assert len(of(triggers, AlarmKind.GAS)) == 1


def test_clears_after_the_hold_below_the_hysteresis_band():
    eng = engine()
    ctx = sensor(kind="gas")
    triggers = feed(eng, lel(ctx, T0, [55.0] * 5 + [40.0] * 10 + [22.0] * 40 + [5.0] * 40))
    # A sudden high reading goes straight to the high level.
    assert severities(triggers, AlarmKind.GAS) == [Severity.CRITICAL]
    clears = cleared(triggers, AlarmKind.GAS)
    assert len(clears) == 1
    assert clears[0].at_ms == T0 + 55 * S + 30 * S


def test_dropping_from_high_and_rising_again_does_not_repeat():
    values = [30.0] * 3 + [55.0] * 3 + [30.0] * 5 + [55.0] * 5 + [30.0] * 5
    triggers = feed(engine(), lel(sensor(kind="gas"), T0, values))
    assert severities(triggers, AlarmKind.GAS) == [Severity.ALARM, Severity.CRITICAL]


def test_room_stays_in_alarm_while_any_sensor_sees_gas():
    eng = engine()
    a, b = sensor(10, kind="gas"), sensor(11, kind="gas")
    triggers = feed(eng, lel(a, T0, [30.0] * 3) + lel(b, T0 + 3 * S, [30.0] * 3))
    triggers += feed(eng, lel(a, T0 + 10 * S, [1.0] * 60))
    assert len(raised(triggers, AlarmKind.GAS)) == 1
    assert cleared(triggers, AlarmKind.GAS) == []
    triggers = feed(eng, lel(b, T0 + 80 * S, [1.0] * 40))
    assert len(cleared(triggers, AlarmKind.GAS)) == 1


def test_site_can_lower_the_levels():
    config = RuleConfig(sites={"site-1": {"gas_low_lel_pct": 10, "gas_high_lel_pct": 20}})
    triggers = feed(engine(config), lel(sensor(kind="gas"), T0, [12.0] * 3 + [22.0] * 3))
    assert severities(triggers, AlarmKind.GAS) == [Severity.ALARM, Severity.CRITICAL]


def test_gas_is_not_fire():
    triggers = feed(engine(), lel(sensor(kind="gas"), T0, [90.0] * 5))
    assert of(triggers, AlarmKind.FIRE) == []
