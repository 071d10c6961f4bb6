"""Heart rate and SpO2 outside the resident's own limits, sustained.

Limits only, no learned per-resident baseline: a baseline narrower than the limits staff set
could only add alarms, and whether it removes false ones cannot be measured without labelled
recordings of residents, which the project does not have (``docs/rules.md``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alerts.models import AlarmKind, DeviceContext, Severity, Subject, Trigger
from alerts.rules.base import Latch, Rule, Seen, person_of, reading_evidence, trigger, who
from alerts.rules.config import RuleConfig
from alerts.rules.sustain import Run
from anxin import wire

_EVIDENCE_READINGS = 10


@dataclass(frozen=True)
class _Signal:
    kind: AlarmKind
    field: str
    label: str
    unit: str
    value: Callable[[wire.Vitals], int | None]
    abnormal: Callable[[int, DeviceContext], bool]
    normal: Callable[[int, DeviceContext, RuleConfig], bool]
    limits: Callable[[DeviceContext, RuleConfig], dict[str, int]]


_HR = _Signal(
    kind=AlarmKind.VITALS_HR,
    field="hr",
    label="Heart rate",
    unit="bpm",
    value=lambda r: r.hr,
    abnormal=lambda v, ctx: v < ctx.hr_low or v > ctx.hr_high,
    normal=lambda v, ctx, cfg: (
        ctx.hr_low + cfg.hr_hysteresis_bpm <= v <= ctx.hr_high - cfg.hr_hysteresis_bpm
    ),
    limits=lambda ctx, cfg: {
        "hr_low": ctx.hr_low,
        "hr_high": ctx.hr_high,
        "hysteresis_bpm": cfg.hr_hysteresis_bpm,
    },
)
_SPO2 = _Signal(
    kind=AlarmKind.VITALS_SPO2,
    field="spo2",
    label="SpO2",
    unit="%",
    value=lambda r: r.spo2,
    abnormal=lambda v, ctx: v < ctx.spo2_low,
    normal=lambda v, ctx, cfg: v >= ctx.spo2_low + cfg.spo2_hysteresis_pct,
    limits=lambda ctx, cfg: {"spo2_low": ctx.spo2_low, "hysteresis_pct": cfg.spo2_hysteresis_pct},
)


@dataclass
class _Track:
    abnormal: Run = field(default_factory=Run)
    normal: Run = field(default_factory=Run)
    readings: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=_EVIDENCE_READINGS)
    )


class VitalsRule(Rule):
    name = "vitals"

    def __init__(self) -> None:
        self._tracks: dict[tuple[AlarmKind, Subject], _Track] = {}
        self._latch: Latch[tuple[AlarmKind, Subject]] = Latch()

    def observe(self, seen: Seen) -> list[Trigger]:
        reading = seen.reading
        if not isinstance(reading, wire.Vitals) or seen.late or reading.worn is False:
            return []
        out: list[Trigger] = []
        for signal in (_HR, _SPO2):
            value = signal.value(reading)
            if value is not None:
                out.extend(self._judge(signal, value, seen))
        return out

    def _judge(self, signal: _Signal, value: int, seen: Seen) -> list[Trigger]:
        ctx, cfg, t = seen.ctx, seen.config, seen.t
        subject = person_of(ctx)
        key = (signal.kind, subject)
        track = self._tracks.setdefault(key, _Track())
        gap_ms = int(cfg.vitals_max_gap_s * 1000)
        abnormal = signal.abnormal(value, ctx)
        track.abnormal.update(abnormal, t, gap_ms)
        track.normal.update(signal.normal(value, ctx, cfg), t, gap_ms)
        if abnormal:
            if track.abnormal.count == 1:
                track.readings.clear()
            track.readings.append(reading_evidence(seen, **{signal.field: value}))
        is_open = self._latch.is_open(key)
        if not is_open and track.abnormal.holds(
            t, for_ms=cfg.vitals_sustain_s * 1000, readings=cfg.vitals_min_readings
        ):
            self._latch.raise_(key, Severity.ALARM)
            title = f"{signal.label} {value} {signal.unit} outside limits ({who(ctx)})"
            return [
                self._trigger(
                    signal,
                    seen,
                    title,
                    list(track.readings),
                    held_s=track.abnormal.held_ms(t) / 1000,
                )
            ]
        if is_open and track.normal.holds(
            t, for_ms=cfg.vitals_clear_s * 1000, readings=cfg.vitals_min_readings
        ):
            self._latch.clear(key)
            title = f"{signal.label} back within limits ({who(ctx)})"
            evidence = [reading_evidence(seen, **{signal.field: value})]
            return [self._trigger(signal, seen, title, evidence, clear=True)]
        return []

    def _trigger(
        self,
        signal: _Signal,
        seen: Seen,
        title: str,
        readings: list[dict[str, Any]],
        *,
        clear: bool = False,
        **extra: Any,
    ) -> Trigger:
        ctx, cfg = seen.ctx, seen.config
        return trigger(
            rule=f"{self.name}.{signal.field}",
            kind=signal.kind,
            severity=Severity.ALARM,
            subject=person_of(ctx),
            ctx=ctx,
            title=title,
            at_ms=seen.t,
            clear=clear,
            readings=readings,
            thresholds={
                **signal.limits(ctx, cfg),
                "sustain_s": cfg.vitals_sustain_s,
                "min_readings": cfg.vitals_min_readings,
                "clear_s": cfg.vitals_clear_s,
            },
            **extra,
        )
