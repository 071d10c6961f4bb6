"""Local wall-clock arithmetic on epoch milliseconds with a fixed UTC offset.

The living-alone rules think in local days and hours; China has one time zone and no daylight
saving, so an offset in minutes is exact and keeps the rules free of time-zone databases.
"""

from __future__ import annotations

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def local(t_ms: int, utc_offset_min: int) -> int:
    """Epoch milliseconds shifted so that multiples of a day fall on local midnight."""
    return t_ms + utc_offset_min * MINUTE_MS


def window_overlap_ms(
    start_ms: int, end_ms: int, utc_offset_min: int, start_min: int, end_min: int
) -> int:
    """How much of [start_ms, end_ms) falls inside the daily window [start_min, end_min).

    Constant time for any span, so a resident silent for weeks costs no more than one silent
    for an hour.
    """
    if end_ms <= start_ms:
        return 0
    win_start, win_end = start_min * MINUTE_MS, end_min * MINUTE_MS

    def inside_before(t: int) -> int:
        days, into_day = divmod(local(t, utc_offset_min), DAY_MS)
        if win_start <= win_end:
            per_day = win_end - win_start
            today = min(max(into_day - win_start, 0), per_day)
        else:
            per_day = DAY_MS - win_start + win_end
            today = min(into_day, win_end) + max(into_day - win_start, 0)
        return days * per_day + today

    return inside_before(end_ms) - inside_before(start_ms)
