"""Who is told: the duty roster, family in priority order, community levels, managers; and
which escalation policy applies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts import roster
from alerts.models import AlarmKind, Subject
from alerts.policies import Step, policy_for, set_policy
from anxin import registry
from anxin.errors import Conflict
from tests.alarm_setup import contact, raise_and_start, site, staff, trigger, webhook

NOW = datetime.now(UTC)


def _names(people: list[roster.Person]) -> list[str]:
    return [p.who["name"] for p in people]


def test_the_roster_decides_who_is_on_duty_now(conn):
    sid = site(conn)
    day = staff(conn, sid, "Day nurse", "duty", [])
    night = staff(conn, sid, "Night nurse", "duty", [])
    staff(conn, sid, "Spare", "duty", [])
    roster.add_shift(
        conn=conn,
        staff_id=day,
        role="duty",
        starts_at=NOW - timedelta(hours=2),
        ends_at=NOW + timedelta(hours=6),
    )
    roster.add_shift(
        conn=conn,
        staff_id=night,
        role="duty",
        starts_at=NOW + timedelta(hours=6),
        ends_at=NOW + timedelta(hours=18),
    )
    roster.add_shift(
        conn=conn,
        staff_id=night,
        role="supervisor",
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(hours=1),
    )
    on_duty = roster.on_duty(conn=conn, site_id=sid, role="duty")
    assert _names(on_duty) == ["Day nurse"] and on_duty[0].who["on_shift"] is True
    assert _names(roster.on_duty(conn=conn, site_id=sid, role="supervisor")) == ["Night nurse"]


def test_without_a_shift_now_the_standing_role_is_told(conn):
    sid = site(conn)
    staff(conn, sid, "Nurse A", "duty", [])
    staff(conn, sid, "Nurse B", "duty", [])
    gone = staff(conn, sid, "Left", "duty", [])
    conn.execute("UPDATE staff SET active = false WHERE id = %s", (gone,))
    on_duty = roster.on_duty(conn=conn, site_id=sid, role="duty")
    assert _names(on_duty) == ["Nurse A", "Nurse B"]
    assert {p.who["on_shift"] for p in on_duty} == {False}


def test_shifts_are_checked(conn):
    sid = site(conn)
    nurse = staff(conn, sid, "Nurse", "duty", [])
    with pytest.raises(Conflict, match="role"):
        roster.add_shift(conn=conn, staff_id=nurse, role="cook", starts_at=NOW, ends_at=NOW)
    with pytest.raises(Conflict, match="end after"):
        roster.add_shift(conn=conn, staff_id=nurse, role="duty", starts_at=NOW, ends_at=NOW)


def test_family_in_priority_order_and_community_by_level_for_a_senior_alone(conn):
    sid = site(conn, kind="home_alone")
    senior = registry.create_resident(conn=conn, uid="r1", site_uid="s1", name="Grandma Li")
    contact(conn, sid, "Son", "family", [], resident_id=senior, priority=2)
    contact(conn, sid, "Daughter", "family", [], resident_id=senior, priority=1)
    contact(conn, sid, "Village worker", "community", [], tier="community")
    contact(conn, sid, "Town office", "community", [], tier="town")
    contact(conn, sid, "District hotline", "community", [], tier="district")
    kitchen = registry.create_location(conn=conn, site_uid="s1", name="Kitchen", kind="kitchen")
    # a gas leak in the kitchen concerns the senior who lives there alone
    alarm_id, _ = raise_and_start(conn, trigger(Subject("location", kitchen), kind=AlarmKind.GAS))
    assert _names(roster.family(conn=conn, alarm_id=alarm_id)) == ["Daughter", "Son"]
    for level, name in [("community", "Village worker"), ("town", "Town office")]:
        assert _names(roster.community(conn=conn, alarm_id=alarm_id, level=level)) == [name]
    assert _names(roster.audience(conn=conn, alarm_id=alarm_id, site_id=sid, name="district")) == [
        "District hotline"
    ]


def test_family_of_another_resident_is_not_told(conn):
    sid = site(conn)
    wang = registry.create_resident(conn=conn, uid="r1", site_uid="s1", name="Wang")
    zhao = registry.create_resident(conn=conn, uid="r2", site_uid="s1", name="Zhao")
    contact(conn, sid, "Wang's son", "family", [], resident_id=wang)
    contact(conn, sid, "Zhao's son", "family", [], resident_id=zhao)
    alarm_id, _ = raise_and_start(conn, trigger(Subject("resident", wang)))
    assert _names(roster.family(conn=conn, alarm_id=alarm_id)) == ["Wang's son"]


def test_managers_are_staff_and_manager_contacts(conn):
    sid = site(conn)
    staff(conn, sid, "Director", "manager", webhook("http://127.0.0.1:9/d"))
    contact(conn, sid, "Owner", "manager", [])
    assert _names(roster.managers(conn=conn, site_id=sid)) == ["Director", "Owner"]


def test_the_most_specific_policy_applies(conn):
    sid = site(conn)
    other = site(conn, uid="s2")
    mine = set_policy(conn=conn, site_id=sid, steps=[Step(1, 0, ("duty", "manager"))])

    def chosen(site_id: int, kind: str, severity: int) -> tuple[float, ...]:
        p = policy_for(conn=conn, site_id=site_id, kind=kind, severity=severity)
        return (p.id, len(p.steps), p.reminder_s or 0)

    assert chosen(sid, "sos", 4)[0] == mine
    assert chosen(other, "sos", 4)[1:] == (5, 60)  # default for alarms: five tiers, reminders
    assert chosen(other, "low_battery", 2)[1:] == (2, 0)  # default for device health
    fire = policy_for(conn=conn, site_id=other, kind="fire", severity=4)
    assert fire.steps[0].audiences == ("duty", "operator")


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "tier order"),
        ([Step(1, 5, ("duty",))], "delay 0"),
        ([Step(1, 0, ("duty",)), Step(1, 5, ("duty",))], "without repeats"),
        ([Step(1, 0, ("duty",)), Step(2, 60, ("duty",)), Step(3, 30, ("family",))], "before"),
        ([Step(1, 0, ("cook",))], "unknown audiences"),
    ],
)
def test_bad_policies_are_refused_with_a_reason(conn, steps, message):
    with pytest.raises(Conflict, match=message):
        set_policy(conn=conn, steps=steps)


def test_replacing_a_policy_replaces_its_steps(conn):
    sid = site(conn)
    first = set_policy(
        conn=conn, site_id=sid, steps=[Step(1, 0, ("duty",)), Step(2, 9, ("supervisor",))]
    )
    again = set_policy(conn=conn, site_id=sid, steps=[Step(1, 0, ("manager",))], reminder_s=5)
    p = policy_for(conn=conn, site_id=sid, kind="sos", severity=4)
    assert first == again == p.id and p.steps == (Step(1, 0, ("manager",)),) and p.reminder_s == 5
