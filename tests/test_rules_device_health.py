"""Device health: offline, low battery, not worn, reported faults, self-test overdue."""

from alerts.models import AlarmKind, DeviceContext, Observation, Severity, Subject
from tests.test_rules_helpers import (
    DAY,
    MIN,
    T0,
    H,
    S,
    bracelet,
    cleared,
    engine,
    env,
    event,
    feed,
    first_raise_at,
    heartbeat,
    observe,
    of,
    raised,
    sensor,
    ticks,
    vitals,
)

# Offline -------------------------------------------------------------------------------------


def test_a_device_that_never_sends_goes_offline_after_three_intervals():
    eng = engine()
    eng.register_device(bracelet(), T0)
    triggers = ticks(eng, T0, T0 + 10 * MIN, S)
    offline = raised(triggers, AlarmKind.DEVICE_OFFLINE)
    assert len(offline) == 1, "raised once"
    assert offline[0].at_ms == T0 + 181 * S
    assert offline[0].subject == Subject("device", 1)
    assert offline[0].severity == Severity.WARNING
    assert offline[0].evidence["thresholds"]["heartbeat_interval_s"] == 60


def test_any_reading_counts_as_alive_and_brings_it_back_online():
    eng = engine()
    ctx = sensor()
    eng.register_device(ctx, T0)
    triggers = feed(eng, [env(ctx, T0 + 100 * S, temp_c=21.0)]) + ticks(eng, T0, T0 + 280 * S, S)
    assert raised(triggers, AlarmKind.DEVICE_OFFLINE) == []
    triggers = ticks(eng, T0 + 281 * S, T0 + 300 * S, S)
    assert first_raise_at(triggers, AlarmKind.DEVICE_OFFLINE) == T0 + 281 * S
    back = feed(eng, [heartbeat(ctx, T0 + 400 * S)])
    assert len(cleared(back, AlarmKind.DEVICE_OFFLINE)) == 1


def test_the_devices_own_heartbeat_interval_sets_the_limit():
    eng = engine()
    ctx = bracelet()
    feed(eng, [heartbeat(ctx, T0, interval_s=10)])
    triggers = ticks(eng, T0, T0 + 60 * S, S)
    assert first_raise_at(triggers, AlarmKind.DEVICE_OFFLINE) == T0 + 31 * S


def test_a_late_batch_proves_the_device_is_alive_now():
    eng = engine()
    ctx = bracelet()
    eng.register_device(ctx, T0)
    caught_up = observe(ctx, vitals(ctx, T0 - H, hr=70).reading, received_ms=T0 + 170 * S)
    feed(eng, [caught_up], tick=False)
    assert raised(ticks(eng, T0, T0 + 300 * S, S), AlarmKind.DEVICE_OFFLINE) == []


def test_reregistration_keeps_the_offline_clock():
    eng = engine()
    eng.register_device(bracelet(), T0)
    eng.register_device(bracelet(hr_high=110), T0 + 170 * S)
    assert first_raise_at(ticks(eng, T0, T0 + 200 * S, S), AlarmKind.DEVICE_OFFLINE) == T0 + 181 * S


# Battery -------------------------------------------------------------------------------------


def test_low_battery_raises_at_15_and_clears_at_25_without_flapping():
    eng = engine()
    ctx = bracelet()
    levels = [40, 16, 15, 14, 16, 15, 20, 24, 25, 26]
    triggers = feed(eng, [vitals(ctx, T0 + i * MIN, battery=b) for i, b in enumerate(levels)])
    battery = of(triggers, AlarmKind.LOW_BATTERY)
    assert [(t.at_ms, t.clear) for t in battery] == [(T0 + 2 * MIN, False), (T0 + 8 * MIN, True)]
    assert battery[0].evidence["readings"][0]["battery"] == 15
    assert battery[0].subject == Subject("device", 1)


def test_low_battery_from_sensor_heartbeat_or_event():
    eng = engine()
    triggers = feed(eng, [heartbeat(sensor(10), T0, battery=10)])
    triggers += feed(eng, [event(sensor(11), T0, "low_battery")])
    assert {t.subject.id for t in raised(triggers, AlarmKind.LOW_BATTERY)} == {10, 11}


# Not worn ------------------------------------------------------------------------------------


def off_wrist(
    ctx: DeviceContext, start: int, minutes: int, battery: int | None = None
) -> list[Observation]:
    return [vitals(ctx, start + i * MIN, worn=False, battery=battery) for i in range(minutes)]


def test_off_the_wrist_for_thirty_minutes_alarms_once():
    eng = engine()
    triggers = feed(eng, off_wrist(bracelet(), T0, 60))
    not_worn = raised(triggers, AlarmKind.NOT_WORN)
    assert len(not_worn) == 1
    assert not_worn[0].at_ms == T0 + 30 * MIN
    assert not_worn[0].evidence["off_since_ms"] == T0


def test_taken_off_event_alarms_even_if_the_bracelet_then_falls_silent():
    eng = engine()
    ctx = bracelet()
    feed(eng, [event(ctx, T0, "taken_off")])
    assert first_raise_at(ticks(eng, T0, T0 + H), AlarmKind.NOT_WORN) == T0 + 30 * MIN


def test_a_short_removal_does_not_alarm():
    ctx = bracelet()
    obs = off_wrist(ctx, T0, 20) + [vitals(ctx, T0 + 20 * MIN, worn=True)]
    obs += off_wrist(ctx, T0 + 21 * MIN, 20)
    assert raised(feed(engine(), obs), AlarmKind.NOT_WORN) == []


def test_charging_is_a_reason_to_be_off_the_wrist():
    eng = engine()
    ctx = bracelet()
    obs = [event(ctx, T0, "charging")] + off_wrist(ctx, T0 + MIN, 90)
    assert raised(feed(eng, obs), AlarmKind.NOT_WORN) == []


def test_a_rising_battery_means_charging_and_clears_the_alarm():
    eng = engine()
    ctx = bracelet()
    triggers = feed(eng, off_wrist(ctx, T0, 40, battery=12))
    assert len(raised(triggers, AlarmKind.NOT_WORN)) == 1
    triggers = feed(eng, off_wrist(ctx, T0 + 40 * MIN, 1, battery=13))
    triggers += feed(eng, off_wrist(ctx, T0 + 41 * MIN, 60, battery=14))
    assert len(cleared(triggers, AlarmKind.NOT_WORN)) == 1
    assert raised(triggers, AlarmKind.NOT_WORN) == []


def test_put_on_clears_the_alarm():
    eng = engine()
    ctx = bracelet()
    feed(eng, off_wrist(ctx, T0, 35))
    assert len(cleared(feed(eng, [event(ctx, T0 + 36 * MIN, "put_on")]), AlarmKind.NOT_WORN)) == 1


# Faults --------------------------------------------------------------------------------------


def test_each_new_fault_kind_is_raised_once():
    eng = engine()
    ctx = sensor()
    triggers = feed(
        eng,
        [
            event(ctx, T0, "tamper"),
            event(ctx, T0 + S, "tamper"),
            event(ctx, T0 + 2 * S, "fault", code="E42"),
        ],
    )
    faults = raised(triggers, AlarmKind.DEVICE_FAULT)
    assert [f.evidence["readings"][0]["event"] for f in faults] == ["tamper", "fault"]
    assert faults[1].evidence["readings"][0]["code"] == "E42"
    assert faults[1].evidence["causes"] == ["fault", "tamper"]
    assert all(f.severity == Severity.ALARM and f.subject == Subject("device", 10) for f in faults)


def test_passing_self_test_clears_only_a_failed_self_test():
    eng = engine()
    a, b = sensor(10), sensor(11)
    triggers = feed(eng, [event(a, T0, "self_test_fail"), event(a, T0 + H, "self_test_ok")])
    assert len(cleared(triggers, AlarmKind.DEVICE_FAULT)) == 1
    triggers = feed(eng, [event(b, T0, "tamper"), event(b, T0 + H, "self_test_ok")])
    assert cleared(triggers, AlarmKind.DEVICE_FAULT) == []


# Self-test overdue ---------------------------------------------------------------------------


def test_fire_and_gas_sensors_must_self_test_monthly():
    eng = engine()
    eng.register_device(sensor(10, kind="smoke"), T0)
    eng.register_device(bracelet(), T0)
    triggers = ticks(eng, T0, T0 + 40 * DAY, H)
    overdue = raised(triggers, AlarmKind.SELF_TEST_OVERDUE)
    assert [(t.subject, t.at_ms) for t in overdue] == [(Subject("device", 10), T0 + 31 * DAY)]


def test_a_self_test_restarts_the_clock_and_clears():
    eng = engine()
    ctx = sensor(10, kind="gas")
    eng.register_device(ctx, T0)
    feed(eng, [event(ctx, T0 + 20 * DAY, "self_test_ok")], tick=False)
    triggers = ticks(eng, T0, T0 + 60 * DAY, H)
    assert first_raise_at(triggers, AlarmKind.SELF_TEST_OVERDUE) == T0 + 51 * DAY
    done = feed(eng, [event(ctx, T0 + 60 * DAY + MIN, "self_test_ok")], tick=False)
    assert len(cleared(done, AlarmKind.SELF_TEST_OVERDUE)) == 1
