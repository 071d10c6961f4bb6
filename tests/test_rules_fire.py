"""Fire: smoke, fixed heat, rate-of-rise, second-sensor confirmation, cold rooms, clearing."""

import pytest

from alerts.models import AlarmKind, DeviceContext, Observation, Severity, Subject
from tests.test_rules_helpers import (
    MIN,
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


def readings(
    ctx: DeviceContext, start: int, values: list[float], step: int = S, field: str = "smoke_obs"
) -> list[Observation]:
    return [env(ctx, start + i * step, **{field: v}) for i, v in enumerate(values)]


def ramp(
    ctx: DeviceContext,
    start: int,
    from_c: float,
    rate: float,
    seconds: int,
    step: int = S,
) -> list[Observation]:
    return [
        env(ctx, start + i * step, temp_c=round(from_c + rate * i * step / MIN, 3))
        for i in range(seconds * S // step)
    ]


def test_smoke_over_the_threshold_on_two_readings_alarms_about_the_room():
    triggers = feed(engine(), readings(sensor(), T0, [0.1, 12.0, 12.5, 13.0]))
    fire = raised(triggers, AlarmKind.FIRE)
    assert len(fire) == 1
    assert fire[0].severity == Severity.ALARM
    assert fire[0].subject == Subject("location", 5)
    assert fire[0].at_ms == T0 + 2 * S
    assert fire[0].evidence["causes"]["smoke"]["smoke_obs"] == 12.5
    assert fire[0].evidence["thresholds"]["smoke_alarm_pct_per_m"] == 10.0
    assert [r["smoke_obs"] for r in fire[0].evidence["readings"]] == [0.1, 12.0, 12.5]


def test_a_single_smoke_spike_or_light_haze_does_not_alarm():
    values = [0.1, 40.0, 0.1, 0.1] + [8.0] * 30
    assert raised(feed(engine(), readings(sensor(), T0, values)), AlarmKind.FIRE) == []


def test_fixed_heat_alarms_at_57_not_at_56():
    hot = readings(sensor(), T0, [50.0, 57.0, 58.0], field="temp_c")
    assert first_raise_at(feed(engine(), hot), AlarmKind.FIRE) == T0 + 2 * S
    warm = [env(sensor(), T0 + i * 10 * MIN, temp_c=56.0) for i in range(10)]
    assert raised(feed(engine(), warm), AlarmKind.FIRE) == []


@pytest.mark.parametrize("rate", [10.0, 12.0, 20.0, 30.0])
def test_rate_of_rise_alarms_within_en54_5_a1_response_times(rate):
    triggers = feed(engine(), ramp(sensor(), T0, 22.0, rate, 180))
    at = first_raise_at(triggers, AlarmKind.FIRE)
    assert at is not None
    # A rise must hold for the fit window: never within 30 s, always within 90 s.
    assert T0 + 30 * S <= at <= T0 + 90 * S
    causes = raised(triggers, AlarmKind.FIRE)[0].evidence["causes"]
    assert causes["rate_of_rise"]["rate_c_per_min"] == pytest.approx(rate, rel=0.05)
    assert "heat" not in causes, "the fixed threshold was not reached yet"


@pytest.mark.parametrize("rate", [3.0, 5.0, 6.5])
def test_slower_rises_do_not_alarm_until_the_fixed_threshold(rate):
    triggers = feed(engine(), ramp(sensor(), T0, 22.0, rate, 240))
    assert raised(triggers, AlarmKind.FIRE) == []


def test_one_jump_in_temperature_is_not_a_rate_of_rise():
    values = [22.0] * 60 + [40.0] + [22.0] * 120
    triggers = feed(engine(), readings(sensor(), T0, values, field="temp_c"))
    assert raised(triggers, AlarmKind.FIRE) == []


def test_sparse_readings_with_one_jump_do_not_alarm():
    values = [22.0, 22.0, 22.0, 35.0, 22.0, 22.0, 22.0]
    triggers = feed(engine(), readings(sensor(), T0, values, step=30 * S, field="temp_c"))
    assert raised(triggers, AlarmKind.FIRE) == []


def test_second_sensor_in_the_room_confirms_and_escalates_to_critical():
    eng = engine()
    a, b = sensor(10), sensor(11)
    first = feed(eng, readings(a, T0, [15.0] * 10))
    second = feed(eng, readings(b, T0 + 60 * S, [60.0, 61.0, 62.0], field="temp_c"))
    assert severities(first, AlarmKind.FIRE) == [Severity.ALARM]
    assert severities(second, AlarmKind.FIRE) == [Severity.CRITICAL]
    critical = raised(second, AlarmKind.FIRE)[0]
    assert critical.subject == Subject("location", 5)
    assert {w["device_id"] for w in critical.evidence["confirmed_by"]} == {10, 11}
    assert "confirmed" in critical.title
    more = feed(eng, readings(a, T0 + 70 * S, [20.0] * 30) + readings(b, T0 + 70 * S, [70.0] * 5))
    assert raised(more, AlarmKind.FIRE) == [], "no repeats once critical"


def test_second_sensor_too_late_or_in_another_room_does_not_confirm():
    eng = engine()
    a, b, elsewhere = sensor(10), sensor(11), sensor(12, location_id=6)
    triggers = feed(eng, readings(a, T0, [15.0, 15.0, 1.0]))
    triggers += feed(eng, readings(elsewhere, T0 + 10 * S, [15.0, 15.0]))
    triggers += feed(eng, readings(b, T0 + 3 * MIN, [15.0, 15.0]))
    assert severities(triggers, AlarmKind.FIRE) == [Severity.ALARM, Severity.ALARM]
    assert {t.subject.id for t in raised(triggers, AlarmKind.FIRE)} == {5, 6}


def test_persisting_smoke_raises_once_and_clears_after_the_hold():
    eng = engine()
    ctx = sensor()
    triggers = feed(eng, readings(ctx, T0, [20.0] * 300))
    triggers += feed(eng, readings(ctx, T0 + 300 * S, [6.0] * 30 + [0.2] * 400))
    assert len(raised(triggers, AlarmKind.FIRE)) == 1
    clears = cleared(triggers, AlarmKind.FIRE)
    assert len(clears) == 1
    # 6 %/m is above the 5 %/m clear level: the quiet hold starts at 0.2 %/m.
    assert clears[0].at_ms == T0 + 330 * S + 300 * S


def test_smoke_on_and_off_stays_one_alarm():
    eng = engine()
    values = ([15.0] * 5 + [0.1] * 60) * 4
    triggers = feed(eng, readings(sensor(), T0, values))
    assert len(of(triggers, AlarmKind.FIRE)) == 1


def test_cold_room_door_or_defrost_swing_is_not_fire():
    cold = sensor(20, kind="heat", location_id=9, location_kind="cold_storage")
    # 15 °C/min for 70 s: a rate-of-rise alarm anywhere else, but all of it below 0 °C.
    triggers = feed(engine(), ramp(cold, T0, -20.0, 15.0, 70))
    assert raised(triggers, AlarmKind.FIRE) == []
    warm_room = feed(engine(), ramp(sensor(), T0, 5.0, 15.0, 70))
    assert raised(warm_room, AlarmKind.FIRE) != []


def test_cold_room_fire_still_alarms_by_rate_of_rise_and_fixed_heat():
    cold = sensor(20, kind="heat", location_id=9, location_kind="cold_storage")
    triggers = feed(engine(), ramp(cold, T0, -20.0, 20.0, 150))
    at = first_raise_at(triggers, AlarmKind.FIRE)
    assert at is not None and at <= T0 + 150 * S
    assert "rate_of_rise" in raised(triggers, AlarmKind.FIRE)[0].evidence["causes"]
    hot = readings(cold, T0, [60.0, 60.0], step=10 * MIN, field="temp_c")
    assert first_raise_at(feed(engine(), hot), AlarmKind.FIRE) == T0 + 10 * MIN


def test_a_sensor_in_no_room_is_its_own_subject():
    triggers = feed(engine(), readings(sensor(30, location_id=None), T0, [15.0, 15.0]))
    assert raised(triggers, AlarmKind.FIRE)[0].subject == Subject("device", 30)
