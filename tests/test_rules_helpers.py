"""Builders for the rule tests: device contexts, observations, and a clock-driven feed."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from alerts.models import AlarmKind, DeviceContext, Observation, Severity, Trigger
from alerts.rules import RuleConfig, RuleEngine
from anxin import wire

S = 1_000
MIN = 60 * S
H = 60 * MIN
DAY = 24 * H
T0 = 1_767_542_400_000
"""2026-01-05 00:00 in China Standard Time (UTC+8): local midnight, so ``T0 + 9 * H`` is 09:00."""

_seq = itertools.count(1)


def bracelet(device_id: int = 1, resident_id: int | None = 100, **changes: Any) -> DeviceContext:
    ctx = DeviceContext(
        device_id=device_id,
        device_uid=f"brc-{device_id}",
        device_kind="bracelet",
        site_uid="site-1",
        site_kind="care_home",
        heartbeat_interval_s=60,
        resident_id=resident_id,
        resident_uid=None if resident_id is None else f"res-{resident_id}",
    )
    return replace(ctx, **changes)


def alone(device_id: int = 1, resident_id: int = 100, **changes: Any) -> DeviceContext:
    return bracelet(device_id, resident_id, site_kind="home_alone", **changes)


def sensor(
    device_id: int = 10,
    kind: str = "multi",
    location_id: int | None = 5,
    location_kind: str | None = "room",
    **changes: Any,
) -> DeviceContext:
    ctx = DeviceContext(
        device_id=device_id,
        device_uid=f"{kind}-{device_id}",
        device_kind=kind,
        site_uid="site-1",
        site_kind="funeral",
        heartbeat_interval_s=60,
        location_id=location_id,
        location_name=None if location_id is None else f"room-{location_id}",
        location_kind=location_kind,
    )
    return replace(ctx, **changes)


def observe(
    ctx: DeviceContext, reading: wire.Reading, received_ms: int | None = None
) -> Observation:
    return Observation(device=ctx, reading=reading, received_ms=received_ms or reading.ts)


def vitals(ctx: DeviceContext, t: int, **fields: Any) -> Observation:
    return observe(ctx, wire.Vitals(seq=next(_seq), ts=t, **fields))


def env(ctx: DeviceContext, t: int, **fields: Any) -> Observation:
    return observe(ctx, wire.Env(seq=next(_seq), ts=t, **fields))


def event(ctx: DeviceContext, t: int, name: str, **fields: Any) -> Observation:
    return observe(ctx, wire.Event(seq=next(_seq), ts=t, event=name, **fields))  # type: ignore[arg-type]


def heartbeat(ctx: DeviceContext, t: int, interval_s: int = 60, **fields: Any) -> Observation:
    return observe(ctx, wire.Heartbeat(seq=next(_seq), ts=t, interval_s=interval_s, **fields))


def engine(config: RuleConfig | None = None) -> RuleEngine:
    return RuleEngine(config or RuleConfig())


def feed(
    eng: RuleEngine, observations: Iterable[Observation], *, tick: bool = True
) -> list[Trigger]:
    """Each observation, then (by default) a tick at its time: how the service drives it."""
    out: list[Trigger] = []
    for obs in observations:
        out.extend(eng.observe(obs))
        if tick:
            out.extend(eng.tick(obs.received_ms))
    return out


def of(triggers: Iterable[Trigger], kind: AlarmKind) -> list[Trigger]:
    return [t for t in triggers if t.kind == kind]


def raised(triggers: Iterable[Trigger], kind: AlarmKind) -> list[Trigger]:
    return [t for t in of(triggers, kind) if not t.clear]


def cleared(triggers: Iterable[Trigger], kind: AlarmKind) -> list[Trigger]:
    return [t for t in of(triggers, kind) if t.clear]


def first_raise_at(triggers: Iterable[Trigger], kind: AlarmKind) -> int | None:
    found = raised(triggers, kind)
    return found[0].at_ms if found else None


def severities(triggers: Iterable[Trigger], kind: AlarmKind) -> list[Severity]:
    return [t.severity for t in raised(triggers, kind)]


def ticks(eng: RuleEngine, start: int, end: int, step: int = MIN) -> list[Trigger]:
    """The ticker running from ``start`` to ``end`` inclusive."""
    out: list[Trigger] = []
    for now in range(start, end + 1, step):
        out.extend(eng.tick(now))
    return out
