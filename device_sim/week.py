"""A simulated week of daily life, no incidents, through the rule engine at accelerated time.

The false-alarm rate of the rules is measured where it matters, on ordinary days: residents
sleep, eat, walk, nap and charge their bracelets, sensors see clean air with noise and drift.
Everything runs in memory through the same ``RuleEngine`` the alerts worker uses; every alarm it
raises here is a false alarm (device-health warnings such as a low battery before charging are
counted apart: they are true statements about the device).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from alerts.models import AlarmKind, DeviceContext, Observation, Trigger
from alerts.rules import RuleConfig, RuleEngine
from device_sim import behaviour

DEVICE_HEALTH = {
    AlarmKind.DEVICE_OFFLINE,
    AlarmKind.LOW_BATTERY,
    AlarmKind.NOT_WORN,
    AlarmKind.DEVICE_FAULT,
    AlarmKind.SELF_TEST_OVERDUE,
}
START_MS = 1_795_000_000_000 - (1_795_000_000_000 % 86_400_000) - 8 * 3_600_000
"""Local midnight (UTC+8) of a fixed day, so a run is the same every time."""


@dataclass
class WeekResult:
    residents: int
    days: float
    readings: int
    safety: Counter[str] = field(default_factory=Counter)
    device_health: Counter[str] = field(default_factory=Counter)

    @property
    def resident_days(self) -> float:
        return self.residents * self.days

    @property
    def false_alarms_per_100_resident_days(self) -> float:
        return 100 * sum(self.safety.values()) / self.resident_days


def _contexts(residents: int, living_alone_share: float) -> list[DeviceContext]:
    alone = int(round(residents * living_alone_share))
    return [
        DeviceContext(
            device_id=i + 1,
            device_uid=f"wk-brc-{i}",
            device_kind="bracelet",
            site_uid=f"wk-home{i}" if i < alone else "wk-ch1",
            site_kind="home_alone" if i < alone else "care_home",
            heartbeat_interval_s=300,
            location_id=i + 1,
            resident_id=i + 1,
            resident_uid=f"wk-r{i}",
        )
        for i in range(residents)
    ]


def simulate_week(
    *,
    residents: int = 100,
    days: float = 7.0,
    interval_s: int = 60,
    heartbeat_s: int = 300,
    living_alone_share: float = 0.5,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> WeekResult:
    """Drive ``residents`` bracelets for ``days`` and count what the rules raise."""
    engine = RuleEngine(RuleConfig())
    contexts = _contexts(residents, living_alone_share)
    root = np.random.default_rng(seed)
    states = [behaviour.new_bracelet(np.random.default_rng(root.integers(2**32))) for _ in contexts]
    rngs = [np.random.default_rng(root.integers(2**32)) for _ in contexts]
    for ctx in contexts:
        engine.register_device(ctx, START_MS)
    result = WeekResult(residents=residents, days=days, readings=0)
    steps = int(days * 86_400 / interval_s)
    beat_every = max(1, heartbeat_s // interval_s)
    for step in range(steps):
        now = START_MS + step * interval_s * 1000
        hour = behaviour.hour_of_day(now)
        for ctx, state, rng in zip(contexts, states, rngs, strict=True):
            vitals = behaviour.bracelet_vitals(state, now, hour, interval_s, rng)
            _count(engine.observe(Observation(ctx, vitals, now)), result)
            for event in behaviour.bracelet_events(state, now):
                _count(engine.observe(Observation(ctx, event, now)), result)
            if step % beat_every == 0:
                beat = behaviour.heartbeat(state, now, heartbeat_s, int(state.battery))
                _count(engine.observe(Observation(ctx, beat, now)), result)
            result.readings += 1
        _count(engine.tick(now), result)
        if progress is not None and step % 60 == 0:
            progress(step, steps)
    return result


def _count(triggers: list[Trigger], result: WeekResult) -> None:
    for trigger in triggers:
        if trigger.clear:
            continue
        bucket = result.device_health if trigger.kind in DEVICE_HEALTH else result.safety
        bucket[trigger.kind.value] += 1
