"""Living alone: inactivity in waking hours, over a whole night, and no morning activity."""

import pytest

from alerts.models import AlarmKind, DeviceContext, Observation, Severity, Subject
from alerts.rules import RuleConfig, RuleEngine
from alerts.rules.localtime import window_overlap_ms
from tests.test_rules_helpers import (
    DAY,
    MIN,
    T0,
    H,
    alone,
    bracelet,
    cleared,
    engine,
    event,
    feed,
    first_raise_at,
    raised,
    ticks,
    vitals,
)


def watched(config: RuleConfig | None = None, ctx: DeviceContext | None = None) -> RuleEngine:
    eng = engine(config)
    eng.register_device(ctx or alone(), T0 - DAY)
    return eng


def active(ctx: DeviceContext, t: int) -> Observation:
    return vitals(ctx, t, motion_g=0.3, worn=True)


def test_four_waking_hours_without_activity_alarm():
    eng = watched()
    feed(eng, [active(alone(), T0 + 9 * H)])
    triggers = ticks(eng, T0 + 9 * H, T0 + 14 * H)
    alarms = raised(triggers, AlarmKind.INACTIVITY)
    assert len(alarms) == 1, "raised once while the silence lasts"
    assert alarms[0].at_ms == T0 + 13 * H
    assert alarms[0].severity == Severity.ALARM
    assert alarms[0].subject == Subject("resident", 100)
    assert alarms[0].evidence["last_active_ms"] == T0 + 9 * H
    assert alarms[0].evidence["last_activity"]["motion_g"] == 0.3


def test_a_normal_night_raises_nothing():
    eng = watched()
    ctx = alone()
    feed(eng, [active(ctx, T0 - 2 * H)])  # 22:00 the evening before
    triggers = ticks(eng, T0 - 2 * H, T0 + 7 * H + 30 * MIN)
    triggers += feed(eng, [active(ctx, T0 + 7 * H + 30 * MIN)])
    triggers += ticks(eng, T0 + 7 * H + 30 * MIN, T0 + 11 * H)
    assert raised(triggers, AlarmKind.INACTIVITY) == []
    assert raised(triggers, AlarmKind.NO_MORNING_ACTIVITY) == []


def test_twelve_silent_hours_alarm_even_across_the_night():
    eng = watched(ctx=alone())
    feed(eng, [active(alone(), T0 - 2 * H - 30 * MIN)])  # 21:30
    triggers = ticks(eng, T0 - 2 * H, T0 + 10 * H)
    assert first_raise_at(triggers, AlarmKind.INACTIVITY) == T0 + 9 * H + 30 * MIN
    alarm = raised(triggers, AlarmKind.INACTIVITY)[0]
    assert alarm.evidence["inactive_waking_h"] == pytest.approx(3.0)


def test_no_activity_by_usual_wake_plus_margin_alarms_at_ten():
    eng = watched()
    feed(eng, [active(alone(), T0 - 2 * H)])
    triggers = ticks(eng, T0, T0 + 11 * H)
    morning = raised(triggers, AlarmKind.NO_MORNING_ACTIVITY)
    assert len(morning) == 1
    assert morning[0].at_ms == T0 + 10 * H
    assert morning[0].evidence["usual_wake_min"] == 8 * 60


def test_a_night_time_toilet_visit_is_not_the_morning():
    eng = watched()
    ctx = alone()
    feed(eng, [active(ctx, T0 - 2 * H), active(ctx, T0 + 3 * H)])
    triggers = ticks(eng, T0, T0 + 11 * H)
    assert first_raise_at(triggers, AlarmKind.NO_MORNING_ACTIVITY) == T0 + 10 * H


def test_an_early_riser_is_up_not_missing():
    eng = watched()
    feed(eng, [active(alone(), T0 + 5 * H + 30 * MIN)])
    triggers = ticks(eng, T0, T0 + 11 * H)
    assert raised(triggers, AlarmKind.NO_MORNING_ACTIVITY) == []


def test_learned_wake_time_moves_the_deadline():
    eng = watched()
    eng.set_usual_wake(100, 6 * 60)
    feed(eng, [active(alone(), T0 - 2 * H)])
    triggers = ticks(eng, T0, T0 + 11 * H)
    assert first_raise_at(triggers, AlarmKind.NO_MORNING_ACTIVITY) == T0 + 8 * H


def test_usual_wake_must_be_a_minute_of_the_day():
    with pytest.raises(ValueError):
        engine().set_usual_wake(100, 1440)


def test_morning_alarm_is_judged_once_a_day_and_not_after_late_registration():
    eng = engine()
    eng.register_device(alone(), T0 + 10 * H + 30 * MIN)
    triggers = ticks(eng, T0 + 10 * H + 30 * MIN, T0 + DAY + 11 * H)
    assert [t.at_ms for t in raised(triggers, AlarmKind.NO_MORNING_ACTIVITY)] == [T0 + DAY + 10 * H]


def test_activity_clears_both_alarms():
    eng = watched()
    ctx = alone()
    feed(eng, [active(ctx, T0 - 2 * H - 30 * MIN)])
    ticks(eng, T0, T0 + 10 * H)
    triggers = feed(eng, [event(ctx, T0 + 10 * H + 5 * MIN, "button")])
    assert {t.kind for t in cleared(triggers, AlarmKind.INACTIVITY)} == {AlarmKind.INACTIVITY}
    assert len(cleared(triggers, AlarmKind.NO_MORNING_ACTIVITY)) == 1
    assert raised(ticks(eng, T0 + 10 * H + 5 * MIN, T0 + 12 * H), AlarmKind.INACTIVITY) == []


def test_still_or_unworn_bracelet_is_no_sign_of_life_but_steps_are():
    eng = watched()
    ctx = alone()
    feed(eng, [active(ctx, T0 + 9 * H), vitals(ctx, T0 + 9 * H + MIN, steps=100)])
    quiet = [
        vitals(ctx, T0 + 10 * H, motion_g=0.02, steps=100),
        vitals(ctx, T0 + 11 * H, motion_g=2.0, worn=False),
    ]
    triggers = feed(eng, quiet) + ticks(eng, T0 + 11 * H, T0 + 13 * H + MIN)
    # The first step count only sets the baseline: the last sign of life is the 09:00 motion.
    assert first_raise_at(triggers, AlarmKind.INACTIVITY) == T0 + 13 * H
    steps = feed(eng, [vitals(ctx, T0 + 13 * H + 2 * MIN, motion_g=0.0, steps=130)])
    assert len(cleared(steps, AlarmKind.INACTIVITY)) == 1


def test_late_activity_older_than_the_last_does_not_clear():
    eng = watched()
    ctx = alone()
    feed(eng, [active(ctx, T0 + 9 * H)])
    ticks(eng, T0 + 9 * H, T0 + 13 * H)
    triggers = feed(eng, [active(ctx, T0 + 8 * H)], tick=False)
    assert cleared(triggers, AlarmKind.INACTIVITY) == []


def test_care_home_residents_are_not_watched_for_inactivity():
    eng = engine()
    eng.register_device(bracelet(), T0 - DAY)
    triggers = ticks(eng, T0, T0 + 14 * H, 10 * MIN)
    assert raised(triggers, AlarmKind.INACTIVITY) == []
    assert raised(triggers, AlarmKind.NO_MORNING_ACTIVITY) == []


def test_site_time_zone_override():
    config = RuleConfig(sites={"site-1": {"utc_offset_min": 0}})
    eng = watched(config)
    feed(eng, [active(alone(), T0 - 2 * H)])
    triggers = ticks(eng, T0, T0 + 19 * H)
    # 10:00 UTC is 18:00 in UTC+8.
    assert first_raise_at(triggers, AlarmKind.NO_MORNING_ACTIVITY) == T0 + 18 * H


@pytest.mark.parametrize(
    ("start", "end", "window", "expected"),
    [
        (T0, T0 + DAY, (7 * 60, 22 * 60), 15 * H),
        (T0 + 21 * H, T0 + DAY + 8 * H, (7 * 60, 22 * 60), 2 * H),
        (T0, T0 + 10 * DAY, (7 * 60, 22 * 60), 150 * H),
        (T0 + 23 * H, T0 + DAY + 2 * H, (22 * 60, 6 * 60), 3 * H),
        (T0 + 3 * H, T0 + 3 * H, (7 * 60, 22 * 60), 0),
    ],
)
def test_waking_time_overlap(start, end, window, expected):
    assert window_overlap_ms(start, end, 480, *window) == expected
