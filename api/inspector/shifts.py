"""Shifts as hours of the local day, for the per-shift statistics.

The roster (``shifts`` table) holds each person's duty periods, not a named shift pattern, so
statistics group alarms by the local hour they were raised in. The default is the usual
three-shift pattern of Chinese care homes: day 08-16, evening 16-24, night 00-08.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql


@dataclass(frozen=True)
class Shift:
    """Local hours ``start_hour`` (inclusive) to ``end_hour`` (exclusive, 24 = midnight); a
    shift with start after end runs across midnight (e.g. 22 to 6)."""

    name: str
    start_hour: int
    end_hour: int

    @property
    def label(self) -> str:
        return f"{self.name} {self.start_hour:02d}-{self.end_hour:02d}"

    def hours(self) -> set[int]:
        if self.start_hour < self.end_hour:
            return set(range(self.start_hour, self.end_hour))
        return set(range(self.start_hour, 24)) | set(range(0, self.end_hour))


DEFAULT_SHIFTS = (Shift("day", 8, 16), Shift("evening", 16, 24), Shift("night", 0, 8))


def check_shifts(shifts: Sequence[Shift]) -> None:
    """Every hour of the day must belong to exactly one shift, or some alarms would vanish
    from the per-shift figures (or be counted twice)."""
    seen: list[int] = []
    for shift in shifts:
        if not (0 <= shift.start_hour <= 23 and 1 <= shift.end_hour <= 24):
            raise ValueError(f"shift {shift.name}: hours are 0-23 (start) and 1-24 (end)")
        if shift.start_hour == shift.end_hour:
            raise ValueError(f"shift {shift.name} is empty: start and end are the same hour")
        seen.extend(shift.hours())
    if sorted(seen) != list(range(24)):
        raise ValueError("shifts must cover each hour of the day exactly once")


def shift_of_hour(shifts: Sequence[Shift], hour: sql.Composable) -> sql.Composable:
    """An SQL expression naming the shift of the local ``hour`` (an int expression, 0-23): a
    lookup in a 24-name array, so the hour is computed once per row."""
    names = {h: s.name for s in shifts for h in s.hours()}
    return sql.SQL("({}::text[])[{} + 1]").format(sql.Literal([names[h] for h in range(24)]), hour)
