"""The rule engine: one entry point for readings, one for the clock, no I/O.

Time comes only from the readings and from ``tick(now_ms)``, so the engine runs the same live,
in tests and in a replay at any speed. A redelivered reading (same device, ``ts`` and ``seq``)
is dropped here once, so no rule sees it twice. A rule that raises on a reading is logged and
skipped for that reading: one faulty rule must not silence the others (an SOS still goes out).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ParamSpec

from alerts.models import DeviceContext, Observation, Trigger
from alerts.rules.activity import ActivityRule
from alerts.rules.base import Rule, Seen
from alerts.rules.battery import BatteryRule
from alerts.rules.co import CoRule
from alerts.rules.cold_storage import ColdStorageRule
from alerts.rules.config import RuleConfig
from alerts.rules.device_fault import DeviceFaultRule
from alerts.rules.fire import FireRule
from alerts.rules.gas import GasRule
from alerts.rules.not_worn import NotWornRule
from alerts.rules.offline import OfflineRule
from alerts.rules.self_test import SelfTestRule
from alerts.rules.sos import SosRule
from alerts.rules.vitals import VitalsRule

logger = logging.getLogger(__name__)

P = ParamSpec("P")

_RECENT_READINGS = 16
"""Per device, how many (ts, seq) keys are remembered to drop redeliveries: MQTT redelivers
soon after the original, and more would cost memory on a fleet of tens of thousands."""


@dataclass
class _Device:
    ctx: DeviceContext
    newest_t: int | None = None
    recent: deque[tuple[int, int]] = field(default_factory=lambda: deque(maxlen=_RECENT_READINGS))


class RuleEngine:
    """Turns observations into triggers; see ``docs/rules.md`` for each rule."""

    def __init__(self, config: RuleConfig) -> None:
        self._config = config
        self._configs: dict[tuple[str, int | None, int | None], RuleConfig] = {}
        self._devices: dict[int, _Device] = {}
        self._activity = ActivityRule()
        self._rules: tuple[Rule, ...] = (
            SosRule(),
            FireRule(),
            GasRule(),
            CoRule(),
            VitalsRule(),
            self._activity,
            ColdStorageRule(),
            OfflineRule(),
            BatteryRule(),
            NotWornRule(),
            DeviceFaultRule(),
            SelfTestRule(),
        )

    def register_device(self, ctx: DeviceContext, now_ms: int) -> None:
        """Start watching a device (its offline and self-test clocks start now), or take in its
        changed registry entry while keeping its timers."""
        device = self._devices.get(ctx.device_id)
        if device is None:
            self._devices[ctx.device_id] = _Device(ctx)
        else:
            device.ctx = ctx
        config = self._config_for(ctx)
        for rule in self._rules:
            _guarded(rule.name, rule.register, ctx, config, now_ms)

    def set_usual_wake(self, resident_id: int, minute_of_day: int) -> None:
        """Seed a resident's usual wake time (local minute of day), learned from history."""
        self._activity.set_usual_wake(resident_id, minute_of_day)

    def observe(self, obs: Observation) -> list[Trigger]:
        ctx, reading = obs.device, obs.reading
        device = self._devices.get(ctx.device_id)
        if device is None or (device.ctx is not ctx and device.ctx != ctx):
            self.register_device(ctx, obs.received_ms)
            device = self._devices[ctx.device_id]
        key = (reading.ts, reading.seq)
        if key in device.recent:
            logger.debug("duplicate reading %s from %s dropped", key, ctx.device_uid)
            return []
        device.recent.append(key)
        t = min(reading.ts, obs.received_ms)
        late = device.newest_t is not None and t < device.newest_t
        if not late:
            device.newest_t = t
        seen = Seen(ctx, reading, t, obs.received_ms, late, self._config_for(ctx))
        triggers: list[Trigger] = []
        for rule in self._rules:
            triggers.extend(_guarded(rule.name, rule.observe, seen))
        return triggers

    def tick(self, now_ms: int) -> list[Trigger]:
        """Run the time-based rules: offline, inactivity, morning, not worn, self-test, CO."""
        triggers: list[Trigger] = []
        for rule in self._rules:
            triggers.extend(_guarded(rule.name, rule.tick, now_ms))
        return triggers

    def _config_for(self, ctx: DeviceContext) -> RuleConfig:
        key = (ctx.site_uid, ctx.location_id, ctx.resident_id)
        config = self._configs.get(key)
        if config is None:
            config = self._configs[key] = self._config.for_device(ctx)
        return config


def _guarded(
    rule: str, call: Callable[P, list[Trigger] | None], *args: P.args, **kwargs: P.kwargs
) -> list[Trigger]:
    try:
        return call(*args, **kwargs) or []
    except Exception:
        logger.exception("rule %s failed in %s; the other rules carry on", rule, call.__name__)
        return []
