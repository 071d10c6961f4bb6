"""The hourly aggregates' refresh window reaches as far back as ingest accepts readings."""

from __future__ import annotations

from datetime import timedelta

from anxin.aggregate_window import MIN_START_OFFSET, refresh_start_offset


def test_the_default_skew_keeps_the_three_day_window():
    assert refresh_start_offset(86400) == MIN_START_OFFSET == timedelta(days=3)


def test_a_week_of_buffered_uploads_widens_the_window_past_the_oldest_bucket():
    week = 7 * 86400
    offset = refresh_start_offset(week)
    # the oldest reading's bucket starts up to an hour earlier; the policy runs every 15 min
    # and leaves the last hour alone
    assert offset >= timedelta(seconds=week) + timedelta(hours=2, minutes=15)
    assert offset == timedelta(days=7, hours=3)
    assert offset % timedelta(hours=1) == timedelta(0)
