"""SOS: the wearer asked for help."""

from __future__ import annotations

from typing import Any

from alerts.models import AlarmKind, Severity, Trigger
from alerts.rules.base import Rule, Seen, person_of, reading_evidence, trigger, who
from alerts.rules.localtime import DAY_MS, HOUR_MS, MINUTE_MS, local
from anxin import wire


class SosRule(Rule):
    """Every press is raised, late or not, and never suppressed: the engine cannot know whether
    the previous SOS was already resolved, and a second press after a resolution must reach a
    person. The alarm service folds repeats of an open alarm into one.

    A press that arrives ``sos_late_after_s`` after its own time (a bracelet out of range
    catching up) is still raised, at its own time, but marked late in its title and evidence:
    staff must not run to a room for an emergency that may be long over without knowing it.
    """

    name = "sos"

    def observe(self, seen: Seen) -> list[Trigger]:
        reading = seen.reading
        if not isinstance(reading, wire.Event) or reading.event != "sos":
            return []
        title = f"SOS pressed ({who(seen.ctx)})"
        late: dict[str, Any] = {}
        late_by_ms = seen.received_ms - reading.ts
        if late_by_ms > seen.config.sos_late_after_s * 1000:
            pressed = local(reading.ts, seen.config.utc_offset_min) % DAY_MS
            title = (
                f"Late SOS ({who(seen.ctx)}): pressed at {pressed // HOUR_MS:02d}:"
                f"{pressed % HOUR_MS // MINUTE_MS:02d}, received {_span(late_by_ms)} later"
            )
            late = {"late": True, "late_by_s": late_by_ms // 1000, "pressed_at_ms": reading.ts}
        return [
            trigger(
                rule=self.name,
                kind=AlarmKind.SOS,
                severity=Severity.CRITICAL,
                subject=person_of(seen.ctx),
                ctx=seen.ctx,
                title=title,
                at_ms=seen.t,
                readings=[reading_evidence(seen, event=reading.event, code=reading.code)],
                **late,
            )
        ]


def _span(ms: int) -> str:
    """A delay as a person reads it: '25 min', '3 h 05 min'."""
    minutes = ms // MINUTE_MS
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
