"""SOS: the wearer asked for help."""

from __future__ import annotations

from alerts.models import AlarmKind, Severity, Trigger
from alerts.rules.base import Rule, Seen, person_of, reading_evidence, trigger, who
from anxin import wire


class SosRule(Rule):
    """Every press is raised, late or not, and never suppressed: the engine cannot know whether
    the previous SOS was already resolved, and a second press after a resolution must reach a
    person. The alarm service folds repeats of an open alarm into one."""

    name = "sos"

    def observe(self, seen: Seen) -> list[Trigger]:
        reading = seen.reading
        if not isinstance(reading, wire.Event) or reading.event != "sos":
            return []
        return [
            trigger(
                rule=self.name,
                kind=AlarmKind.SOS,
                severity=Severity.CRITICAL,
                subject=person_of(seen.ctx),
                ctx=seen.ctx,
                title=f"SOS pressed ({who(seen.ctx)})",
                at_ms=seen.t,
                readings=[reading_evidence(seen, event=reading.event, code=reading.code)],
            )
        ]
