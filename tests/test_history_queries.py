"""The inspectors' query layer against the real PostgreSQL: history filters and pagination,
statistics on a set worked out by hand, unacknowledged alarms, and scope."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api.inspector.history import history_page, iter_history, unacknowledged
from api.inspector.models import AlarmFilter, AlarmState, Cursor, Outcome
from api.inspector.rollup import refresh
from api.inspector.shifts import DEFAULT_SHIFTS, Shift, check_shifts
from api.inspector.stats import statistics
from tests.fix_inspector import T0, add_alarm, make_site

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def sites(conn):
    return {uid: make_site(conn, uid) for uid in ("a", "b", "c")}


@pytest.fixture
def mixed(conn, sites):
    """Named alarms of several kinds, severities and outcomes across sites a and b."""
    a, b = sites["a"], sites["b"]
    h = timedelta(hours=1)
    return {
        "fall_a": add_alarm(
            conn,
            site_id=a,
            raised_at=T0,
            kind="fall",
            severity=4,
            ack_after_s=20,
            resolve_after_s=300,
            outcome="real",
        ),
        "sos_a": add_alarm(
            conn,
            site_id=a,
            raised_at=T0 + h,
            kind="sos",
            severity=4,
            ack_after_s=5,
            resolve_after_s=60,
            outcome="false_alarm",
        ),
        "gas_a": add_alarm(
            conn, site_id=a, raised_at=T0 + 2 * h, kind="gas", severity=3, cleared_after_s=600
        ),
        "battery_a": add_alarm(
            conn, site_id=a, raised_at=T0 + 3 * h, kind="low_battery", severity=2
        ),
        "fall_b": add_alarm(
            conn,
            site_id=b,
            raised_at=T0 + 30 * timedelta(minutes=1),
            kind="fall",
            severity=4,
            ack_after_s=90,
            resolve_after_s=900,
            outcome="test",
        ),
        "gas_b_old": add_alarm(
            conn,
            site_id=b,
            raised_at=T0 - 40 * 24 * h,
            kind="gas",
            severity=3,
            ack_after_s=30,
            resolve_after_s=120,
            outcome="real",
        ),
    }


def _ids(conn, scope, **filters):
    spec = AlarmFilter(**filters)
    return [r.id for r in iter_history(conn=conn, scope=scope, spec=spec, page_size=2)]


def test_history_filters_return_exactly_the_matching_alarms(conn, sites, mixed):
    scope = [sites["a"], sites["b"]]
    m = mixed
    assert _ids(conn, scope) == [
        m["battery_a"],
        m["gas_a"],
        m["sos_a"],
        m["fall_b"],
        m["fall_a"],
        m["gas_b_old"],
    ]
    assert _ids(conn, scope, kinds=("fall",)) == [m["fall_b"], m["fall_a"]]
    assert _ids(conn, scope, kinds=("gas", "sos")) == [m["gas_a"], m["sos_a"], m["gas_b_old"]]
    assert _ids(conn, scope, severities=(2, 3)) == [m["battery_a"], m["gas_a"], m["gas_b_old"]]
    assert _ids(conn, scope, outcomes=(Outcome.REAL,)) == [m["fall_a"], m["gas_b_old"]]
    assert _ids(conn, scope, states=(AlarmState.OPEN, AlarmState.CLEARED)) == [
        m["battery_a"],
        m["gas_a"],
    ]
    period = {"since": T0, "until": T0 + timedelta(hours=2)}
    assert _ids(conn, scope, **period) == [m["sos_a"], m["fall_b"], m["fall_a"]]
    assert _ids(conn, scope, sites=(sites["b"],), kinds=("fall", "gas")) == [
        m["fall_b"],
        m["gas_b_old"],
    ]


def test_history_rows_carry_response_times(conn, sites, mixed):
    page = history_page(conn=conn, scope=[sites["a"]], spec=AlarmFilter(kinds=("fall",)))
    (record,) = page.items
    assert (record.ack_s, record.resolve_s) == (20.0, 300.0)
    assert record.outcome is Outcome.REAL and record.site_uid == "a"
    cleared = history_page(conn=conn, scope=[sites["a"]], spec=AlarmFilter(kinds=("gas",)))
    assert (cleared.items[0].ack_s, cleared.items[0].resolve_s) == (None, None)


def test_keyset_pages_cover_every_alarm_once_even_with_equal_times(conn, sites):
    site = sites["a"]
    ids = [
        add_alarm(conn, site_id=site, raised_at=T0 + timedelta(minutes=i // 3)) for i in range(11)
    ]
    seen, cursor = [], None
    while True:
        page = history_page(conn=conn, scope=[site], spec=AlarmFilter(), limit=4, after=cursor)
        seen.extend(r.id for r in page.items)
        if page.next_cursor is None:
            break
        cursor = Cursor.decode(page.next_cursor)
    expected = sorted(ids, key=lambda i: (ids.index(i) // 3, i), reverse=True)
    assert seen == expected
    assert len(page.items) == 3


def test_scope_excludes_other_sites_even_when_asked_for(conn, sites, mixed):
    c_alarm = add_alarm(conn, site_id=sites["c"], raised_at=T0, kind="fall")
    scope = [sites["a"]]
    assert c_alarm not in _ids(conn, scope)
    assert set(_ids(conn, scope)) == {mixed[k] for k in ("fall_a", "sos_a", "gas_a", "battery_a")}
    assert _ids(conn, scope, sites=(sites["b"], sites["c"])) == []
    assert _ids(conn, []) == []
    stats = statistics(conn=conn, scope=scope, spec=AlarmFilter(sites=(sites["c"],)), now=T0)
    assert stats.total.alarms == 0 and stats.by_site == []


def test_a_cursor_not_issued_by_the_api_is_refused_with_a_hint():
    for token in ("garbage!", "bm90IGEgY3Vyc29y", Cursor(T0, 5).encode()[:-3]):
        with pytest.raises(ValueError, match="next_cursor"):
            Cursor.decode(token)
    assert Cursor.decode(Cursor(T0, 5).encode()) == Cursor(T0, 5)


def test_filter_rejects_impossible_values():
    with pytest.raises(ValueError, match="severity"):
        AlarmFilter(severities=(5,))
    with pytest.raises(ValueError, match="before"):
        AlarmFilter(since=T0, until=T0)
    with pytest.raises(ValueError, match="ISO 8601"):
        AlarmFilter.model_validate({"since": "0.5"})
    assert AlarmFilter.model_validate({"since": "2026-11-02T02:00"}).since == T0


def test_statistics_percentiles_counts_and_groups_on_a_known_set(conn, sites):
    a, b = sites["a"], sites["b"]
    # Site a, day shift (10:00 local): acknowledged after 10, 20, 30, 40, 100 s, resolved
    # after 100, 200, 300, 400, 1000 s. p50 of 10..100 is 30; p90 interpolates 40 -> 100 at
    # 0.6: 76. Resolve: 300 and 760.
    for i, (ack, res) in enumerate([(10, 100), (20, 200), (30, 300), (40, 400), (100, 1000)]):
        add_alarm(
            conn,
            site_id=a,
            raised_at=T0 + timedelta(minutes=i),
            ack_after_s=ack,
            resolve_after_s=res,
            outcome="false_alarm" if i == 0 else "real",
        )
    # Site b, night shift (03:00 local on 2026-12-02): one acknowledged after 61 s, one
    # cleared by itself after 120 s without anyone, one cleared after 30 s, one still open.
    night = T0 + timedelta(days=30) - timedelta(hours=7)
    add_alarm(conn, site_id=b, raised_at=night, ack_after_s=61, resolve_after_s=61)
    add_alarm(conn, site_id=b, raised_at=night, cleared_after_s=120)
    add_alarm(conn, site_id=b, raised_at=night, cleared_after_s=30)
    add_alarm(conn, site_id=b, raised_at=night + timedelta(minutes=5))
    add_alarm(conn, site_id=b, raised_at=night, silenced=True)
    now = night + timedelta(minutes=10)

    stats = statistics(conn=conn, scope=[a, b], spec=AlarmFilter(), now=now)

    site_a, site_b = stats.by_site
    assert (site_a.key, site_a.label) == ("a", "Site a")
    assert (site_a.alarms, site_a.acknowledged, site_a.resolved, site_a.false_alarms) == (
        5,
        5,
        5,
        1,
    )
    assert (site_a.ack_p50_s, site_a.ack_p90_s) == pytest.approx((30, 76))
    assert (site_a.resolve_p50_s, site_a.resolve_p90_s) == pytest.approx((300, 760))
    assert site_a.unacknowledged_60s == 1
    assert (site_b.alarms, site_b.acknowledged, site_b.unacknowledged_60s) == (5, 1, 3)
    assert (site_b.ack_p50_s, site_b.ack_p90_s) == pytest.approx((61, 61))
    assert [(s.key, s.alarms) for s in stats.by_shift] == [("day", 5), ("night", 5)]
    assert stats.by_shift[0].label == "day 08-16"
    assert [(m.key, m.alarms) for m in stats.by_month] == [("2026-11", 5), ("2026-12", 5)]
    assert stats.total.alarms == 10 and stats.total.acknowledged == 6
    assert stats.total.ack_p50_s == pytest.approx(35)


def test_statistics_follow_the_filter_and_the_site_time_zone(conn):
    utc_site = make_site(conn, "u", timezone="UTC")
    add_alarm(conn, site_id=utc_site, raised_at=T0, kind="fall", ack_after_s=10)
    add_alarm(conn, site_id=utc_site, raised_at=T0, kind="gas", ack_after_s=50)
    stats = statistics(
        conn=conn, scope=[utc_site], spec=AlarmFilter(kinds=("gas",)), now=T0 + timedelta(hours=1)
    )
    assert stats.total.alarms == 1 and stats.total.ack_p50_s == pytest.approx(50)
    assert [s.key for s in stats.by_shift] == ["night"]


def test_shifts_must_cover_the_day_once():
    check_shifts(DEFAULT_SHIFTS)
    check_shifts([Shift("long day", 7, 19), Shift("long night", 19, 7)])
    with pytest.raises(ValueError, match="exactly once"):
        check_shifts([Shift("day", 8, 20), Shift("night", 19, 8)])
    with pytest.raises(ValueError, match="exactly once"):
        check_shifts([Shift("day", 8, 16)])


def test_unacknowledged_lists_open_alarms_older_than_a_minute(conn, sites):
    a, b = sites["a"], sites["b"]
    now = T0 + timedelta(minutes=10)
    waiting = add_alarm(conn, site_id=a, raised_at=now - timedelta(seconds=61))
    older = add_alarm(conn, site_id=a, raised_at=now - timedelta(minutes=5))
    add_alarm(conn, site_id=a, raised_at=now - timedelta(seconds=30))
    add_alarm(conn, site_id=a, raised_at=now - timedelta(minutes=5), ack_after_s=70)
    add_alarm(conn, site_id=a, raised_at=now - timedelta(minutes=5), silenced=True)
    add_alarm(conn, site_id=a, raised_at=now - timedelta(minutes=5), cleared_after_s=100)
    add_alarm(conn, site_id=b, raised_at=now - timedelta(minutes=5))
    assert [r.id for r in unacknowledged(conn=conn, scope=[a], now=now)] == [older, waiting]


def test_rolled_up_months_give_the_same_statistics_and_are_final(conn, sites):
    a, b = sites["a"], sites["b"]
    day = timedelta(days=1)
    for i in range(40):
        site = a if i % 3 else b
        when = T0 - 70 * day + i * 2 * day + timedelta(hours=i % 24)
        add_alarm(
            conn,
            site_id=site,
            raised_at=when,
            ack_after_s=5 + i * 7,
            resolve_after_s=100 + i * 13,
            outcome="false_alarm" if i % 5 == 0 else "real",
        )
    add_alarm(conn, site_id=a, raised_at=T0 - 70 * day, cleared_after_s=200)
    still_open = add_alarm(conn, site_id=b, raised_at=T0 - 45 * day)
    now = T0 + 3 * day
    specs = [AlarmFilter(), AlarmFilter(since=T0 - 50 * day), AlarmFilter(kinds=("fall",))]
    before = [statistics(conn=conn, scope=[a, b], spec=s, now=now) for s in specs]

    # Months August to November of both sites; b's September only up to the day of its open
    # alarm, November up to today (2026-11-05 local).
    assert refresh(conn=conn, now=now) == 8
    assert refresh(conn=conn, now=now) == 0
    held = dict(
        ((site, month), through)
        for site, month, through in conn.execute(
            "SELECT site_id, month, through FROM alarm_response_months"
        )
    )
    assert held[(b, date(2026, 9, 1))] == datetime(2026, 9, 18, tzinfo=SHANGHAI)
    assert held[(a, date(2026, 9, 1))] == datetime(2026, 10, 1, tzinfo=SHANGHAI)
    assert held[(a, date(2026, 11, 1))] == datetime(2026, 11, 5, tzinfo=SHANGHAI)
    after = [statistics(conn=conn, scope=[a, b], spec=s, now=now) for s in specs]
    assert after == before

    # Rolled-up months are read from the rollup: removing their alarms changes nothing there.
    window = AlarmFilter(
        since=datetime(2026, 8, 1, tzinfo=SHANGHAI), until=datetime(2026, 11, 1, tzinfo=SHANGHAI)
    )
    full = statistics(conn=conn, scope=[a, b], spec=window, now=now)
    conn.execute("DELETE FROM alarms WHERE raised_at < %s AND id <> %s", (T0, still_open))
    kept = statistics(conn=conn, scope=[a, b], spec=window, now=now)
    assert [m.key for m in kept.by_month] == ["2026-08", "2026-09", "2026-10"]
    assert kept.by_month[0] == full.by_month[0] and kept.by_month[2] == full.by_month[2]
    assert kept.by_site[0] == full.by_site[0]
    assert kept.by_site[1].alarms < full.by_site[1].alarms
