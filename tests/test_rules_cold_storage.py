"""Cold-storage rooms: too warm for too long, per-location limits, and no fire on the cold."""

from alerts.models import AlarmKind, DeviceContext, Observation, Severity, Subject
from alerts.rules import RuleConfig
from tests.test_rules_helpers import (
    MIN,
    T0,
    cleared,
    engine,
    env,
    feed,
    first_raise_at,
    of,
    raised,
    sensor,
)


def cold_room(device_id: int = 20, location_id: int = 9) -> DeviceContext:
    return sensor(device_id, kind="heat", location_id=location_id, location_kind="cold_storage")


def temps(
    ctx: DeviceContext, start: int, values: list[float], step: int = MIN
) -> list[Observation]:
    return [env(ctx, start + i * step, temp_c=v) for i, v in enumerate(values)]


def test_fifteen_minutes_above_minus_ten_alarms_once():
    triggers = feed(engine(), temps(cold_room(), T0, [-18.0] * 5 + [-6.0] * 40))
    alarms = raised(triggers, AlarmKind.COLD_STORAGE)
    assert len(alarms) == 1
    assert alarms[0].at_ms == T0 + 20 * MIN
    assert alarms[0].severity == Severity.ALARM
    assert alarms[0].subject == Subject("location", 9)
    assert alarms[0].evidence["thresholds"]["max_c"] == -10.0
    assert alarms[0].evidence["readings"][-1]["temp_c"] == -6.0
    assert of(triggers, AlarmKind.FIRE) == []


def test_a_door_opened_for_ten_minutes_does_not_alarm():
    values = [-18.0] * 5 + [-4.0] * 10 + [-17.0] * 30
    assert raised(feed(engine(), temps(cold_room(), T0, values)), AlarmKind.COLD_STORAGE) == []


def test_clears_only_when_cold_again_with_hysteresis():
    eng = engine()
    triggers = feed(eng, temps(cold_room(), T0, [-5.0] * 20 + [-11.0] * 20 + [-13.0] * 10))
    clears = cleared(triggers, AlarmKind.COLD_STORAGE)
    assert len(clears) == 1
    assert clears[0].at_ms == T0 + 45 * MIN


def test_ordinary_rooms_are_not_cold_storage():
    assert raised(feed(engine(), temps(sensor(), T0, [21.0] * 60)), AlarmKind.COLD_STORAGE) == []


def test_a_short_term_room_overrides_the_limit():
    config = RuleConfig(locations={9: {"cold_storage_max_c": 6.0}})
    fine = feed(engine(config), temps(cold_room(), T0, [3.0] * 60))
    assert raised(fine, AlarmKind.COLD_STORAGE) == []
    warm = feed(engine(config), temps(cold_room(), T0, [3.0] * 5 + [9.0] * 20))
    assert first_raise_at(warm, AlarmKind.COLD_STORAGE) == T0 + 20 * MIN
    other_room = feed(engine(config), temps(cold_room(21, location_id=8), T0, [3.0] * 20))
    assert len(raised(other_room, AlarmKind.COLD_STORAGE)) == 1
