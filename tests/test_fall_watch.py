"""No recovery after a confirmed fall raises the alarm to critical; moving again stops it."""

from __future__ import annotations

from alerts.fall_watch import NoRecoveryWatch
from alerts.models import AlarmKind, DeviceContext, Observation, Severity, Subject, Trigger
from anxin import wire

T0 = 1_795_000_000_000
CTX = DeviceContext(
    device_id=5,
    device_uid="b5",
    device_kind="bracelet",
    site_uid="s",
    site_kind="care_home",
    heartbeat_interval_s=60,
    resident_id=9,
)


def _fall(at: int) -> Trigger:
    return Trigger(
        kind=AlarmKind.FALL,
        severity=Severity.ALARM,
        subject=Subject("resident", 9),
        site_uid="s",
        title="Fall",
        evidence={"score": 0.9},
        at_ms=at,
    )


def _vitals(at: int, motion: float) -> Observation:
    return Observation(CTX, wire.Vitals(seq=at, ts=at, motion_g=motion, worn=True), at)


def test_lying_still_for_a_minute_after_the_first_impact_is_critical():
    watch = NoRecoveryWatch()
    watch.fall_confirmed(_fall(T0), 5)
    watch.fall_confirmed(_fall(T0 + 15_000), 5)  # a later impact of the same fall
    watch.observe(_vitals(T0 + 30_000, 0.01))
    assert watch.tick(T0 + 59_000) == []
    [critical] = watch.tick(T0 + 60_000)
    assert critical.severity is Severity.CRITICAL and "no recovery" in critical.title
    assert watch.tick(T0 + 120_000) == []


def test_moving_again_is_a_recovery():
    watch = NoRecoveryWatch()
    watch.fall_confirmed(_fall(T0), 5)
    watch.observe(_vitals(T0 + 20_000, 0.3))
    assert watch.tick(T0 + 61_000) == []
