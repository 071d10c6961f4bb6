"""A condition followed across one device's readings: since when it has held, how many times."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Run:
    """Consecutive readings for which a condition held; a reading where it fails ends the run,
    and so does a silence longer than the caller's ``max_gap_ms`` (nobody knows what happened
    in between)."""

    since: int | None = None
    last: int | None = None
    count: int = 0

    def update(self, holds: bool, t: int, max_gap_ms: int | None = None) -> None:
        if not holds:
            self.reset()
            return
        gap_too_long = (
            max_gap_ms is not None and self.last is not None and t - self.last > max_gap_ms
        )
        if self.since is None or gap_too_long:
            self.since = t
            self.count = 0
        self.last = t
        self.count += 1

    def held_ms(self, t: int) -> int:
        return 0 if self.since is None else t - self.since

    def holds(self, t: int, *, for_ms: float, readings: int = 1) -> bool:
        return self.since is not None and self.count >= readings and t - self.since >= for_ms

    def reset(self) -> None:
        self.since = None
        self.last = None
        self.count = 0
