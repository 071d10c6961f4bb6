"""Hazard rectification: the closed loop, its refusals, overdue items and scope."""

from __future__ import annotations

from datetime import timedelta

import pytest

from anxin import registry
from anxin.errors import Conflict, NotFound
from api.inspector import rectification as rect
from api.inspector.models import (
    RectificationAssign,
    RectificationCreate,
    RectificationFilter,
    RectificationState,
    RectificationVerify,
)
from tests.fix_inspector import T0, add_alarm, make_site

DAY = timedelta(days=1)


@pytest.fixture
def site(conn):
    return make_site(conn, "fh")


def _found(conn, site, title="Blocked fire exit", **extra):
    item = RectificationCreate(site_id=site, title=title, **extra)
    return rect.create(conn=conn, scope=[site], item=item, actor="inspector_li", now=T0)


def test_found_assigned_rectified_verified(conn, site):
    kitchen = registry.create_location(conn=conn, site_uid="fh", name="kitchen", kind="kitchen")
    alarm = add_alarm(conn, site_id=site, raised_at=T0, kind="gas")
    item = _found(conn, site, location_id=kitchen, alarm_id=alarm, level="major")
    assert (item.state, item.found_by, item.location, item.alarm_id) == (
        RectificationState.FOUND,
        "inspector_li",
        "kitchen",
        alarm,
    )
    scope = [site]
    step = RectificationAssign(responsible="manager Wang", deadline=T0 + 7 * DAY)
    item = rect.assign(
        conn=conn, scope=scope, item_id=item.id, step=step, actor="inspector_li", now=T0 + DAY
    )
    assert (item.state, item.responsible, item.deadline) == (
        "assigned",
        "manager Wang",
        T0 + 7 * DAY,
    )
    item = rect.rectify(
        conn=conn, scope=scope, item_id=item.id, note="exit cleared", actor="wang", now=T0 + 3 * DAY
    )
    assert (item.state, item.rectified_by, item.rectification_note) == (
        "rectified",
        "wang",
        "exit cleared",
    )
    item = rect.verify(
        conn=conn,
        scope=scope,
        item_id=item.id,
        actor="inspector_li",
        step=RectificationVerify(passed=True, note="checked on site"),
        now=T0 + 4 * DAY,
    )
    assert (item.state, item.verified_by, item.verified_at) == (
        "verified",
        "inspector_li",
        T0 + 4 * DAY,
    )
    actions = conn.execute(
        "SELECT action FROM rectification_events WHERE rectification_id = %s ORDER BY id",
        (item.id,),
    ).fetchall()
    assert [a for (a,) in actions] == ["found", "assigned", "rectified", "verified"]


def test_a_failed_verification_goes_back_to_the_responsible_person(conn, site):
    item = _found(conn, site)
    scope = [site]
    step = RectificationAssign(responsible="Wang", deadline=T0 + DAY)
    rect.assign(conn=conn, scope=scope, item_id=item.id, step=step, actor="li", now=T0)
    rect.rectify(conn=conn, scope=scope, item_id=item.id, note="done", actor="wang", now=T0)
    back = rect.verify(
        conn=conn,
        scope=scope,
        item_id=item.id,
        actor="li",
        now=T0 + DAY,
        step=RectificationVerify(passed=False, note="still blocked"),
    )
    assert (back.state, back.verification_note, back.rectified_at) == (
        "assigned",
        "still blocked",
        None,
    )


def test_steps_out_of_order_and_self_verification_are_refused(conn, site):
    item = _found(conn, site)
    scope = [site]
    with pytest.raises(Conflict, match="is found; this step needs it assigned"):
        rect.rectify(conn=conn, scope=scope, item_id=item.id, note="x", actor="wang", now=T0)
    step = RectificationAssign(responsible="Wang", deadline=T0 + DAY)
    rect.assign(conn=conn, scope=scope, item_id=item.id, step=step, actor="li", now=T0)
    rect.rectify(conn=conn, scope=scope, item_id=item.id, note="x", actor="wang", now=T0)
    with pytest.raises(Conflict, match="someone else must verify"):
        rect.verify(
            conn=conn,
            scope=scope,
            item_id=item.id,
            actor="wang",
            now=T0,
            step=RectificationVerify(passed=True, note="fine"),
        )
    with pytest.raises(Conflict, match="is rectified"):
        rect.assign(conn=conn, scope=scope, item_id=item.id, step=step, actor="li", now=T0)
    events = conn.execute("SELECT count(*) FROM rectification_events").fetchone()[0]
    assert events == 3


def test_overdue_items_are_those_not_rectified_by_their_deadline(conn, site):
    scope = [site]
    late = _found(conn, site, title="late")
    in_time = _found(conn, site, title="in time")
    fixed = _found(conn, site, title="fixed")
    _found(conn, site, title="no deadline yet")
    for item in (late, fixed):
        step = RectificationAssign(responsible="Wang", deadline=T0 + DAY)
        rect.assign(conn=conn, scope=scope, item_id=item.id, step=step, actor="li", now=T0)
    step = RectificationAssign(responsible="Wang", deadline=T0 + 5 * DAY)
    rect.assign(conn=conn, scope=scope, item_id=in_time.id, step=step, actor="li", now=T0)
    rect.rectify(conn=conn, scope=scope, item_id=fixed.id, note="ok", actor="wang", now=T0)

    now = T0 + 2 * DAY
    overdue = rect.list_records(
        conn=conn, scope=scope, spec=RectificationFilter(overdue_only=True), now=now
    )
    assert [r.title for r in overdue] == ["late"] and overdue[0].overdue
    everything = rect.list_records(conn=conn, scope=scope, spec=RectificationFilter(), now=now)
    assert [r.title for r in everything] == ["late", "fixed", "in time", "no deadline yet"]
    assert [r.overdue for r in everything] == [True, False, False, False]


def test_records_outside_the_scope_do_not_exist_for_the_caller(conn, site):
    other = make_site(conn, "elsewhere")
    item = _found(conn, site)
    with pytest.raises(NotFound):
        rect.get(conn=conn, scope=[other], item_id=item.id, now=T0)
    with pytest.raises(NotFound):
        rect.rectify(conn=conn, scope=[other], item_id=item.id, note="x", actor="x", now=T0)
    with pytest.raises(NotFound, match="outside your sites"):
        rect.create(
            conn=conn,
            scope=[other],
            item=RectificationCreate(site_id=site, title="x"),
            actor="x",
            now=T0,
        )
    assert rect.list_records(conn=conn, scope=[other], spec=RectificationFilter(), now=T0) == []
    foreign_alarm = add_alarm(conn, site_id=other, raised_at=T0)
    with pytest.raises(NotFound, match="alarm"):
        _found(conn, site, alarm_id=foreign_alarm)
