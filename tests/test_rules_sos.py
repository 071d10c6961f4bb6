"""SOS: critical, about the wearer, never swallowed."""

from dataclasses import replace

from alerts.models import AlarmKind, Severity, Subject
from alerts.rules import RuleConfig
from tests.test_rules_helpers import MIN, T0, H, S, bracelet, engine, event, feed, raised, vitals


def test_sos_press_raises_a_critical_alarm_about_the_resident():
    eng = engine()
    triggers = feed(eng, [event(bracelet(), T0, "sos", code="btn1")])
    sos = raised(triggers, AlarmKind.SOS)
    assert len(sos) == 1
    assert sos[0].severity == Severity.CRITICAL
    assert sos[0].subject == Subject("resident", 100)
    assert sos[0].evidence["rule"] == "sos"
    assert sos[0].evidence["readings"][0]["ts"] == T0
    assert sos[0].at_ms == T0


def test_sos_from_an_unbound_bracelet_is_about_the_device():
    triggers = feed(engine(), [event(bracelet(7, resident_id=None), T0, "sos")])
    assert raised(triggers, AlarmKind.SOS)[0].subject == Subject("device", 7)


def test_other_events_and_readings_are_not_sos():
    eng = engine()
    ctx = bracelet()
    triggers = feed(eng, [event(ctx, T0, "button"), vitals(ctx, T0 + S, hr=70)])
    assert raised(triggers, AlarmKind.SOS) == []


def test_every_new_press_is_raised_but_a_redelivery_is_not():
    eng = engine()
    ctx = bracelet()
    first = event(ctx, T0, "sos")
    triggers = feed(eng, [first, first, event(ctx, T0 + 30 * S, "sos")])
    assert len(raised(triggers, AlarmKind.SOS)) == 2


def test_a_late_sos_is_still_raised():
    eng = engine()
    ctx = bracelet()
    feed(eng, [vitals(ctx, T0 + 60 * S, hr=70)])
    triggers = feed(eng, [event(ctx, T0, "sos")])
    assert len(raised(triggers, AlarmKind.SOS)) == 1


def test_an_sos_arriving_after_the_late_limit_is_raised_at_its_own_time_marked_late():
    pressed = T0 + 9 * H + 5 * MIN  # 09:05 local
    obs = replace(event(bracelet(), pressed, "sos"), received_ms=pressed + 2 * H + 30 * MIN)
    sos = raised(feed(engine(), [obs]), AlarmKind.SOS)
    assert len(sos) == 1
    assert sos[0].at_ms == pressed
    assert sos[0].evidence["late"] is True
    assert sos[0].evidence["late_by_s"] == 9000
    assert sos[0].evidence["pressed_at_ms"] == pressed
    assert sos[0].title == "Late SOS (res-100): pressed at 09:05, received 2 h 30 min later"


def test_an_sos_within_the_late_limit_is_not_marked_late():
    obs = replace(event(bracelet(), T0, "sos"), received_ms=T0 + 9 * MIN)
    sos = raised(feed(engine(), [obs]), AlarmKind.SOS)
    assert "late" not in sos[0].evidence
    assert sos[0].title == "SOS pressed (res-100)"


def test_the_late_limit_is_configurable():
    obs = replace(event(bracelet(), T0, "sos"), received_ms=T0 + 3 * MIN)
    sos = raised(feed(engine(RuleConfig(sos_late_after_s=120)), [obs]), AlarmKind.SOS)
    assert sos[0].title == "Late SOS (res-100): pressed at 00:00, received 3 min later"
