"""Faults the device reports itself: ``fault``, ``tamper``, ``self_test_fail``.

Each new kind of fault on a device is raised once while its alarm is open; repeats of the same
kind are not (a stuck fault line would otherwise send one every second). A passing self-test
clears the alarm only when a failed self-test was its sole reason: it says nothing about a
sensor that was tampered with or reported a hardware fault.
"""

from __future__ import annotations

from alerts.models import AlarmKind, Severity, Trigger
from alerts.rules.base import Rule, Seen, device_of, reading_evidence, trigger, where
from anxin import wire

_FAULTS = ("fault", "tamper", "self_test_fail")
_TITLES = {
    "fault": "reports a fault",
    "tamper": "tampered with",
    "self_test_fail": "failed its self-test",
}


class DeviceFaultRule(Rule):
    name = "device_health.fault"

    def __init__(self) -> None:
        self._open: dict[int, set[str]] = {}

    def observe(self, seen: Seen) -> list[Trigger]:
        reading = seen.reading
        if not isinstance(reading, wire.Event):
            return []
        device_id = seen.ctx.device_id
        causes = self._open.get(device_id, set())
        if reading.event in _FAULTS and reading.event not in causes:
            self._open[device_id] = causes | {reading.event}
            title = f"Device {seen.ctx.device_uid} in {where(seen.ctx)} {_TITLES[reading.event]}"
            clear = False
        elif reading.event == "self_test_ok" and not seen.late and causes == {"self_test_fail"}:
            del self._open[device_id]
            title = f"Device {seen.ctx.device_uid} passed its self-test"
            clear = True
        else:
            return []
        return [
            trigger(
                rule=self.name,
                kind=AlarmKind.DEVICE_FAULT,
                severity=Severity.ALARM,
                subject=device_of(seen.ctx),
                ctx=seen.ctx,
                title=title,
                at_ms=seen.t,
                clear=clear,
                causes=sorted(self._open.get(device_id, set())),
                readings=[
                    reading_evidence(
                        seen, event=reading.event, code=reading.code, detail=reading.detail
                    )
                ],
            )
        ]
