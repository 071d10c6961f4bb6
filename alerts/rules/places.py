"""A room's alarm from the levels of all its sensors.

Fire, gas, CO and cold-storage alarms are about the room, and a room may hold several sensors:
the room's severity is the highest any of its sensors reports, it is raised when that rises,
and it clears only when every sensor is back to normal, so one sensor recovering cannot clear
what another still sees.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.models import Severity, Subject
from alerts.rules.base import Latch


@dataclass(frozen=True)
class Step:
    """What the room's alarm must do now: raise at ``severity``, or clear."""

    severity: Severity
    clear: bool = False


class PlaceBoard:
    def __init__(self) -> None:
        self._levels: dict[Subject, dict[int, Severity]] = {}
        self._latch: Latch[Subject] = Latch()

    def update(self, place: Subject, device_id: int, level: Severity | None) -> Step | None:
        levels = self._levels.setdefault(place, {})
        if level is None:
            levels.pop(device_id, None)
        else:
            levels[device_id] = level
        if levels:
            top = max(levels.values())
            return Step(top) if self._latch.raise_(place, top) else None
        del self._levels[place]
        raised = self._latch.severity(place)
        if raised is None:
            return None
        self._latch.clear(place)
        return Step(raised, clear=True)
