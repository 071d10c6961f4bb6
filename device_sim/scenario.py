"""Scenarios: timed incidents on a simulated fleet and the outcomes they must produce.

A scenario file (YAML, ``device_sim/scenarios/``) names a fleet, events (``at`` seconds after
the start, a device, an action) and expectations (an alarm of a kind and at least a severity
within so many seconds; dead letters of a reason; a message about an alarm delivered to an
audience; a possible fall ending with an outcome; no alarm of a kind for so long). ``play``
runs it against the running platform and reports, for every expectation,
when it was met or that it was not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec
import psycopg
import yaml
from pydantic import BaseModel, ConfigDict, Field

from alerts.fall.device import DeviceProfile
from alerts.fall.trigger import WINDOW_AFTER_S
from alerts.models import Severity
from anxin import wire
from device_sim.falls import FallLibrary
from device_sim.models import FleetSpec
from device_sim.runner import FleetRunner

SCENARIO_DIR = Path(__file__).with_name("scenarios")

Action = Literal[
    "sos",
    "fall",
    "gas",
    "co",
    "smoke",
    "heat",
    "offline",
    "battery",
    "malformed",
    "self_test_fail",
    "tamper",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Event(_Strict):
    at: float = Field(ge=0, description="seconds after the scenario starts")
    device: str
    action: Action
    to: float | None = Field(None, description="gas/smoke: level reached (%LEL, %/m)")
    over_s: float = Field(1.0, gt=0, description="gas/smoke/heat: ramp duration")
    ppm: float | None = None
    rate_c_per_min: float | None = None
    level: int | None = None
    count: int = 1
    recovery: bool = True
    trial: int | None = None
    rate_hz: float = 50
    range_g: float = 8
    answer: Literal["none", "ok", "help", "lost", "offline"] = Field(
        "none",
        description="fall: what the bracelet does when asked 'are you OK?': the wearer presses "
        "OK or help, or does not answer; 'lost': the prompt never reaches it; 'offline': it "
        "drops off right after sending the impact",
    )
    answer_after_s: float = Field(3.0, ge=0, description="fall: how long the wearer takes")


class AlarmExpectation(_Strict):
    alarm: str
    severity: Literal["info", "warning", "alarm", "critical"] = "warning"
    within_s: float = Field(gt=0)
    site: str | None = None


class DeadLetterExpectation(_Strict):
    reason: str
    count: int = 1
    within_s: float = Field(gt=0)


class NotificationExpectation(_Strict):
    """A message about an alarm of ``alarm`` kind delivered to someone of ``notify`` (an
    audience: duty, supervisor, manager, family, community, operator) within ``within_s``."""

    notify: Literal["duty", "supervisor", "manager", "family", "community", "operator"]
    alarm: str
    within_s: float = Field(gt=0)
    site: str | None = None


class PromptExpectation(_Strict):
    """A possible fall of this run's sites that ended with ``prompt`` within ``within_s``; with
    ``alarm_within_s``, its fall alarm was raised at most that long after the impact itself
    (the scenario's clock also counts the recording up to the impact)."""

    prompt: Literal[
        "cancelled",
        "help",
        "no_answer",
        "device_offline",
        "downlink_failed",
        "lying_still",
        "clear_fall",
    ]
    within_s: float = Field(gt=0)
    alarm_within_s: float | None = Field(None, gt=0)


class AbsenceExpectation(_Strict):
    """No alarm of ``no_alarm`` kind at this run's sites during the first ``for_s`` seconds."""

    no_alarm: str
    for_s: float = Field(gt=0)


class Fleet(_Strict):
    care_homes: int = 1
    rooms_per_home: int = 1
    beds_per_room: int = 1
    homes_alone: int = 0
    funeral_facilities: int = 0


class Scenario(_Strict):
    name: str
    description: str
    fleet: Fleet = Fleet()
    interval_s: float = 1.0
    heartbeat_s: int = 10
    events: list[Event]
    expect: list[AlarmExpectation] = []
    dead_letters: list[DeadLetterExpectation] = []
    notifications: list[NotificationExpectation] = []
    prompts: list[PromptExpectation] = []
    absent: list[AbsenceExpectation] = []

    def spec(self, prefix: str = "", notify_url: str = "") -> FleetSpec:
        return FleetSpec(**self.fleet.model_dump(), seed=7, prefix=prefix, notify_url=notify_url)

    @property
    def deadline_s(self) -> float:
        waits = [e.within_s for e in self.expect] + [d.within_s for d in self.dead_letters]
        waits += [n.within_s for n in self.notifications] + [p.within_s for p in self.prompts]
        return max(waits + [a.for_s for a in self.absent], default=5.0)


def load_scenario(path: Path) -> Scenario:
    return Scenario.model_validate(yaml.safe_load(path.read_text()))


def shipped_scenarios() -> list[Path]:
    return sorted(SCENARIO_DIR.glob("*.yaml"))


@dataclass
class Outcome:
    """An expectation and when it was met; for an absence (``absent``), when it was broken."""

    what: str
    within_s: float
    met_after_s: float | None
    absent: bool = False

    @property
    def ok(self) -> bool:
        if self.absent:
            return self.met_after_s is None
        return self.met_after_s is not None and self.met_after_s <= self.within_s


class _Player:
    """Applies events to the fleet runner at their times."""

    def __init__(self, runner: FleetRunner, falls: FallLibrary, prefix: str) -> None:
        self._runner = runner
        self._falls = falls
        self._prefix = prefix

    def play(self, event: Event) -> None:
        event = event.model_copy(update={"device": self._prefix + event.device})
        device = self._runner.device(event.device)
        t0 = time.time_ns() // 1_000_000
        ramp = event.over_s * 1000

        def towards(target: float, base: float = 0.0) -> Any:
            return lambda now: round(base + (target - base) * min(1.0, (now - t0) / ramp), 3)

        match event.action:
            case "sos" | "self_test_fail" | "tamper":
                name = "sos" if event.action == "sos" else event.action
                self._runner.publish_now(
                    event.device, lambda seq, ts: wire.Event(seq=seq, ts=ts, event=name)
                )
            case "gas":
                device.overrides["lel_pct"] = towards(event.to or 0.0)
            case "smoke":
                device.overrides["smoke_obs"] = towards(event.to or 0.0)
            case "co":
                ppm = event.ppm or 0.0
                device.overrides["co_ppm"] = lambda now: ppm
            case "heat":
                rate = (event.rate_c_per_min or 10.0) / 60_000
                base = device.sensor.base_temp if device.sensor else 22.0
                device.overrides["temp_c"] = lambda now: round(base + rate * (now - t0), 2)
            case "battery":
                level = event.level if event.level is not None else 5
                device.overrides["battery"] = lambda now: level
            case "offline":
                device.silent = True
            case "malformed":
                for i in range(event.count):
                    self._runner.publish_raw(
                        event.device, b'{"kind": "vitals", "seq": ' + str(i).encode()
                    )
            case "fall":
                self._fall(event)

    def _fall(self, event: Event) -> None:
        profile = DeviceProfile(rate_hz=event.rate_hz, range_g=event.range_g)
        plan = self._falls.replay(event.trial, profile, seed=int(event.at * 1000))
        device = self._runner.device(event.device)
        base = time.time_ns() // 1_000_000
        last = max((offset for offset, _ in plan.impacts), default=0)
        if not event.recovery:
            device.overrides["motion_g"] = lambda now: 0.0
        for offset, impact in plan.impacts:
            # the bracelet sends a window once it is complete, WINDOW_AFTER_S after the impact
            timer = threading.Timer(
                (offset + WINDOW_AFTER_S * 1000) / 1000,
                self._runner.publish_now,
                args=(event.device, _stamper(impact, base + offset)),
            )
            timer.daemon = True
            timer.start()
        if event.recovery:
            device.overrides["motion_g"] = lambda now: 0.3 if now < base + last + 30_000 else 0.05
        device.answer, device.answer_after_s = event.answer, event.answer_after_s
        if event.answer == "lost":
            device.stop_listening()
        elif event.answer == "offline":
            timer = threading.Timer((last + WINDOW_AFTER_S * 1000 + 300) / 1000, device.drop_off)
            timer.daemon = True
            timer.start()


def _stamper(impact: wire.Impact, ts: int) -> Callable[[int, int], wire.Reading]:
    """The replayed window with the device's next sequence number and the impact's time."""
    return lambda seq, _now: msgspec.structs.replace(impact, seq=seq, ts=ts)


def play(
    scenario: Scenario, runner: FleetRunner, db_url: str, falls: FallLibrary, prefix: str = ""
) -> list[Outcome]:
    """Play the events and watch the database until every expectation is met or due."""
    start = time.monotonic()
    wall_start = time.time()
    player = _Player(runner, falls, prefix)
    pending = sorted(scenario.events, key=lambda e: e.at)
    outcomes = [
        Outcome(f"{e.alarm} ≥ {e.severity}" + (f" at {e.site}" if e.site else ""), e.within_s, None)
        for e in scenario.expect
    ]
    outcomes += [
        Outcome(f"{d.count} dead letter(s) {d.reason}", d.within_s, None)
        for d in scenario.dead_letters
    ]
    outcomes += [
        Outcome(
            f"{n.notify} told of {n.alarm}" + (f" at {n.site}" if n.site else ""), n.within_s, None
        )
        for n in scenario.notifications
    ]
    outcomes += [
        Outcome(
            f"possible fall {p.prompt}"
            + (f", alarm ≤ {p.alarm_within_s:g} s after impact" if p.alarm_within_s else ""),
            p.within_s,
            None,
        )
        for p in scenario.prompts
    ]
    outcomes += [
        Outcome(f"no {a.no_alarm} alarm", a.for_s, None, absent=True) for a in scenario.absent
    ]
    stop = threading.Event()
    with psycopg.connect(db_url, autocommit=True) as conn:
        while not stop.is_set():
            elapsed = time.monotonic() - start
            while pending and pending[0].at <= elapsed:
                player.play(pending.pop(0))
            _check(conn, scenario, outcomes, wall_start, elapsed, prefix)
            waiting = any(o.met_after_s is None for o in outcomes if not o.absent)
            watching = any(o.absent and elapsed <= o.within_s for o in outcomes)
            if (not pending and not waiting and not watching) or (
                elapsed > scenario.deadline_s + 1
            ):
                break
            stop.wait(0.05)
    return outcomes


def _check(
    conn: psycopg.Connection[Any],
    scenario: Scenario,
    outcomes: list[Outcome],
    wall_start: float,
    elapsed: float,
    prefix: str,
) -> None:
    """Mark expectations met by alarm events or dead letters of this run's own sites."""
    for outcome, expectation in zip(outcomes, scenario.expect, strict=False):
        if outcome.met_after_s is not None:
            continue
        site = prefix + expectation.site if expectation.site else None
        row = conn.execute(
            """SELECT 1 FROM alarm_events e JOIN alarms a ON a.id = e.alarm_id
               JOIN sites s ON s.id = a.site_id
               WHERE a.kind = %s AND (e.detail->>'severity')::int >= %s
                 AND e.action IN ('raised', 'repeated', 'severity_raised')
                 AND e.at >= to_timestamp(%s) AND s.uid LIKE %s
                 AND (%s::text IS NULL OR s.uid = %s)
               LIMIT 1""",
            (
                expectation.alarm,
                int(Severity[expectation.severity.upper()]),
                wall_start,
                prefix + "%",
                site,
                site,
            ),
        ).fetchone()
        if row:
            outcome.met_after_s = elapsed
    first_dead = len(scenario.expect)
    first_note = first_dead + len(scenario.dead_letters)
    for outcome, dl in zip(outcomes[first_dead:first_note], scenario.dead_letters, strict=True):
        if outcome.met_after_s is not None:
            continue
        row = conn.execute(
            """SELECT count(*) FROM dead_letter
               WHERE reason = %s AND received_at >= to_timestamp(%s) AND topic LIKE %s""",
            (dl.reason, wall_start, f"anxin/v1/{prefix}%"),
        ).fetchone()
        if row and row[0] >= dl.count:
            outcome.met_after_s = elapsed
    first_prompt = first_note + len(scenario.notifications)
    first_absent = first_prompt + len(scenario.prompts)
    for outcome, note in zip(
        outcomes[first_note:first_prompt], scenario.notifications, strict=True
    ):
        if outcome.met_after_s is None and _delivered(conn, note, wall_start, prefix):
            outcome.met_after_s = elapsed
    for outcome, prompt in zip(outcomes[first_prompt:first_absent], scenario.prompts, strict=True):
        if outcome.met_after_s is None and _prompt_ended(conn, prompt, wall_start, prefix):
            outcome.met_after_s = elapsed
    for outcome, absence in zip(outcomes[first_absent:], scenario.absent, strict=True):
        if outcome.met_after_s is None and elapsed <= absence.for_s:
            if _raised(conn, absence.no_alarm, wall_start, prefix):
                outcome.met_after_s = elapsed


def _prompt_ended(
    conn: psycopg.Connection[Any], expected: PromptExpectation, wall_start: float, prefix: str
) -> bool:
    row = conn.execute(
        """SELECT 1 FROM fall_prompts p JOIN sites s ON s.id = p.site_id
           LEFT JOIN alarms a ON a.id = p.alarm_id
           WHERE p.outcome = %s AND p.closed_at >= to_timestamp(%s) AND s.uid LIKE %s
             AND (%s::float8 IS NULL
                  OR a.raised_at <= p.impact_at + make_interval(secs => %s::float8))
           LIMIT 1""",
        (
            expected.prompt,
            wall_start,
            prefix + "%",
            expected.alarm_within_s,
            expected.alarm_within_s,
        ),
    ).fetchone()
    return row is not None


def _raised(conn: psycopg.Connection[Any], kind: str, wall_start: float, prefix: str) -> bool:
    row = conn.execute(
        """SELECT 1 FROM alarms a JOIN sites s ON s.id = a.site_id
           WHERE a.kind = %s AND a.raised_at >= to_timestamp(%s) AND s.uid LIKE %s LIMIT 1""",
        (kind, wall_start, prefix + "%"),
    ).fetchone()
    return row is not None


_AUDIENCE = """CASE WHEN n.recipient->>'kind' = 'staff' THEN n.recipient->>'role'
                    WHEN n.recipient ? 'relation' THEN 'family'
                    WHEN n.recipient ? 'level' THEN 'community'
                    ELSE n.recipient->>'kind' END"""


def _delivered(
    conn: psycopg.Connection[Any], note: NotificationExpectation, wall_start: float, prefix: str
) -> bool:
    """A message to that audience about that kind of alarm of this run's sites was delivered."""
    site = prefix + note.site if note.site else None
    row = conn.execute(
        f"""SELECT 1 FROM notifications n JOIN alarms a ON a.id = n.alarm_id
            JOIN sites s ON s.id = a.site_id
            WHERE a.kind = %s AND n.state = 'delivered' AND {_AUDIENCE} = %s
              AND n.delivered_at >= to_timestamp(%s) AND s.uid LIKE %s
              AND (%s::text IS NULL OR s.uid = %s)
            LIMIT 1""",
        (note.alarm, note.notify, wall_start, prefix + "%", site, site),
    ).fetchone()
    return row is not None
