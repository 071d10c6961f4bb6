"""Offline: a device silent for several of its own heartbeat intervals.

Liveness is judged on the server's clock (``received_ms``) against the ticker's, so a device
with a wrong clock is still judged fairly, and every message counts, late or not: a bracelet
catching up on old readings is alive now. Registration starts the clock, so a device that
never sends anything goes offline too.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.models import AlarmKind, DeviceContext, Severity, Trigger
from alerts.rules.base import Latch, Rule, Seen, device_of, trigger
from alerts.rules.config import RuleConfig
from anxin import wire


@dataclass
class _Presence:
    ctx: DeviceContext
    config: RuleConfig
    last_seen_ms: int
    heartbeat_s: int | None = None

    def interval_s(self) -> int:
        """The device's own announced heartbeat interval, else the registry's."""
        return self.heartbeat_s or self.ctx.heartbeat_interval_s


class OfflineRule(Rule):
    name = "device_health.offline"

    def __init__(self) -> None:
        self._devices: dict[int, _Presence] = {}
        self._latch: Latch[int] = Latch()

    def register(self, ctx: DeviceContext, config: RuleConfig, now_ms: int) -> None:
        presence = self._devices.get(ctx.device_id)
        if presence is None:
            self._devices[ctx.device_id] = _Presence(ctx, config, now_ms)
        else:
            presence.ctx, presence.config = ctx, config

    def observe(self, seen: Seen) -> list[Trigger]:
        presence = self._devices[seen.ctx.device_id]
        presence.last_seen_ms = max(presence.last_seen_ms, seen.received_ms)
        if isinstance(seen.reading, wire.Heartbeat) and not seen.late:
            presence.heartbeat_s = seen.reading.interval_s
        if not self._latch.clear(seen.ctx.device_id):
            return []
        return [self._trigger(presence, seen.received_ms, clear=True, title="back online")]

    def tick(self, now_ms: int) -> list[Trigger]:
        out: list[Trigger] = []
        for device_id, presence in self._devices.items():
            limit_ms = presence.config.offline_missed_heartbeats * presence.interval_s() * 1000
            if now_ms - presence.last_seen_ms > limit_ms and self._latch.raise_(
                device_id, Severity.WARNING
            ):
                silent_min = (now_ms - presence.last_seen_ms) // 60_000
                out.append(
                    self._trigger(presence, now_ms, title=f"offline, silent for {silent_min} min")
                )
        return out

    def _trigger(
        self, presence: _Presence, at_ms: int, *, title: str, clear: bool = False
    ) -> Trigger:
        return trigger(
            rule=self.name,
            kind=AlarmKind.DEVICE_OFFLINE,
            severity=Severity.WARNING,
            subject=device_of(presence.ctx),
            ctx=presence.ctx,
            title=f"Device {presence.ctx.device_uid} {title}",
            at_ms=at_ms,
            clear=clear,
            last_seen_ms=presence.last_seen_ms,
            thresholds={
                "heartbeat_interval_s": presence.interval_s(),
                "missed_heartbeats": presence.config.offline_missed_heartbeats,
            },
        )
