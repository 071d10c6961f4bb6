"""Turn raw MQTT messages into table rows or dead letters; pure, so every rule is unit-testable.

What passes is decided by ``anxin/wire_checks.py``, the checks detection applies too; this
module only maps the verdict to storage. Nothing here touches the network or the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from anxin import wire
from anxin.consumer import Message
from anxin.wire_checks import WireChecks
from ingest.models import DeadLetter, Row, Staged

TABLE_OF_KIND = {
    "vitals": "reading_vitals",
    "env": "reading_env",
    "heartbeat": "reading_heartbeat",
    "event": "device_event",
    "impact": "impact_window",
}
PRESENCE_TABLE = "device_presence"


def _vitals_row(device_id: int, r: wire.Vitals) -> Row:
    return (
        device_id,
        r.ts,
        r.seq,
        r.hr,
        r.spo2,
        r.skin_temp_c,
        r.motion_g,
        r.steps,
        r.battery,
        r.worn,
    )


def _env_row(device_id: int, r: wire.Env) -> Row:
    return (device_id, r.ts, r.seq, r.smoke_obs, r.temp_c, r.lel_pct, r.co_ppm, r.battery)


def _heartbeat_row(device_id: int, r: wire.Heartbeat) -> Row:
    return (device_id, r.ts, r.seq, r.interval_s, r.battery, r.rssi, r.fw)


def _event_row(device_id: int, r: wire.Event) -> Row:
    return (device_id, r.ts, r.seq, r.event, r.code, r.detail)


def _impact_row(device_id: int, r: wire.Impact) -> Row:
    flat = [value for sample in r.acc for value in sample]
    return (device_id, r.ts, r.seq, r.rate_hz, r.range_g, r.start_ms, flat, r.t_ms)


_ROW_BUILDERS: dict[type, Callable[[int, wire.Reading], Row]] = {
    wire.Vitals: _vitals_row,  # type: ignore[dict-item]
    wire.Env: _env_row,  # type: ignore[dict-item]
    wire.Heartbeat: _heartbeat_row,  # type: ignore[dict-item]
    wire.Event: _event_row,  # type: ignore[dict-item]
    wire.Impact: _impact_row,  # type: ignore[dict-item]
}


class Decoder:
    """Turns messages into rows by table and dead letters, by the shared wire checks."""

    def __init__(self, checks: WireChecks, *, now_ms: Callable[[], int]) -> None:
        self._checks = checks
        self._now_ms = now_ms

    def decode(self, messages: Iterable[Message]) -> Staged:
        staged = Staged()
        now = self._now_ms()
        for message in messages:
            verdict = self._checks.judge(message, now)
            for rejection in verdict.rejections:
                staged.dead.append(
                    DeadLetter(
                        message.topic,
                        verdict.device_uid,
                        rejection.reason,
                        rejection.detail,
                        message.payload,
                    )
                )
            device = verdict.device
            if device is None:
                continue
            if verdict.status is not None:
                staged.rows[PRESENCE_TABLE].append(
                    (device.id, verdict.status.ts, verdict.status.state)
                )
            for reading in verdict.readings:
                staged.rows[TABLE_OF_KIND[wire.kind_of(reading)]].append(
                    _ROW_BUILDERS[type(reading)](device.id, reading)
                )
        return staged
