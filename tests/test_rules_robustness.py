"""Garbage-ish but type-valid input never breaks the engine, and the engine is deterministic."""

import json
import logging
import random
from typing import TypeVar

from alerts.models import AlarmKind, Observation, Severity, Trigger
from alerts.rules import RuleEngine
from alerts.rules.fire import FireRule
from anxin import wire
from tests.test_rules_helpers import (
    DAY,
    MIN,
    T0,
    H,
    S,
    alone,
    bracelet,
    engine,
    env,
    event,
    feed,
    observe,
    raised,
    sensor,
    vitals,
)

T = TypeVar("T")

EVENTS: list[wire.EventName] = [
    "sos",
    "self_test_ok",
    "self_test_fail",
    "tamper",
    "fault",
    "taken_off",
    "put_on",
    "charging",
    "low_battery",
    "button",
]


def maybe(rng: random.Random, value: T) -> T | None:
    return None if rng.random() < 0.3 else value


def random_reading(rng: random.Random, t: int) -> wire.Reading:
    seq = rng.randrange(0, 50)  # small range: plenty of repeated sequence numbers
    kind = rng.choice(["vitals", "env", "heartbeat", "event", "impact"])
    if kind == "vitals":
        return wire.Vitals(
            seq=seq,
            ts=t,
            hr=maybe(rng, rng.randint(20, 300)),
            spo2=maybe(rng, rng.randint(40, 100)),
            motion_g=maybe(rng, rng.uniform(0, 32)),
            steps=maybe(rng, rng.randint(0, 1_000_000)),
            battery=maybe(rng, rng.randint(0, 100)),
            worn=maybe(rng, rng.random() < 0.5),
        )
    if kind == "env":
        return wire.Env(
            seq=seq,
            ts=t,
            smoke_obs=maybe(rng, rng.uniform(0, 100)),
            temp_c=maybe(rng, rng.uniform(-60, 200)),
            lel_pct=maybe(rng, rng.uniform(0, 100)),
            co_ppm=maybe(rng, rng.choice([0.0, 10_000.0, rng.uniform(0, 1000)])),
            battery=maybe(rng, rng.randint(0, 100)),
        )
    if kind == "heartbeat":
        return wire.Heartbeat(seq=seq, ts=t, interval_s=rng.randint(1, 86_400))
    if kind == "event":
        return wire.Event(seq=seq, ts=t, event=rng.choice(EVENTS))
    return wire.Impact(seq=seq, ts=t, rate_hz=50, range_g=8, start_ms=-100, acc=[[0, 0, 1]] * 2)


def random_stream(seed: int, n: int = 3000) -> list[tuple[Observation, bool, int]]:
    rng = random.Random(seed)
    contexts = [
        bracelet(1),
        alone(2, resident_id=200),
        bracelet(3, resident_id=None),
        sensor(10),
        sensor(11),
        sensor(12, location_id=None, location_kind=None),
        sensor(13, kind="heat", location_id=9, location_kind="cold_storage"),
        sensor(14, kind="gas", location_id=9),
    ]
    now = T0
    steps: list[tuple[Observation, bool, int]] = []
    for _ in range(n):
        jump = rng.choice([S, 10 * S, MIN, -MIN, -DAY, 5 * H, 40 * DAY, 0])
        now = max(0, now + jump)
        ts = max(0, min(2**47, now + rng.choice([0, 0, -H, H, -now])))
        received = max(0, now + rng.choice([0, 0, 100, -H]))
        ctx = rng.choice(contexts)
        steps.append((observe(ctx, random_reading(rng, ts), received), rng.random() < 0.3, now))
    return steps


def run(steps: list[tuple[Observation, bool, int]], eng: RuleEngine) -> list[Trigger]:
    out: list[Trigger] = []
    for obs, tick, now in steps:
        out.extend(eng.observe(obs))
        if tick:
            out.extend(eng.tick(now))
    return out


def test_random_garbage_never_raises_nor_logs_an_error(caplog):
    for seed in range(5):
        eng = engine()
        eng.set_usual_wake(200, 5 * 60)
        with caplog.at_level(logging.ERROR, logger="alerts.rules"):
            triggers = run(random_stream(seed), eng)
        assert [r.getMessage() for r in caplog.records] == []
        assert triggers, "the stream is wild enough to raise something"
        for trigger in triggers:
            json.dumps(trigger.evidence)
            assert trigger.subject.kind in ("resident", "location", "device")
            assert trigger.severity in Severity
            assert trigger.evidence["rule"]


def test_the_same_input_gives_the_same_triggers():
    steps = random_stream(42, n=1500)
    assert run(steps, engine()) == run(steps, engine())


def test_readings_going_back_in_time_do_not_build_a_run():
    ctx = bracelet()
    obs = [vitals(ctx, T0 + 10 * MIN, hr=70)]
    obs += [vitals(ctx, T0 + 10 * MIN - i * 10 * S, hr=30) for i in range(1, 20)]
    assert raised(feed(engine(), obs), AlarmKind.VITALS_HR) == []


def test_a_clock_running_fast_is_held_to_the_receive_time():
    ctx = sensor(kind="gas")
    fast = observe(ctx, env(ctx, T0 + DAY, lel_pct=1.0).reading, received_ms=T0)
    later = [env(ctx, T0 + i * 1000, lel_pct=30.0) for i in range(1, 4)]
    assert len(raised(feed(engine(), [fast, *later]), AlarmKind.GAS)) == 1


def test_a_failing_rule_is_logged_and_the_others_still_run(monkeypatch, caplog):
    def broken(self, seen):
        raise RuntimeError("bug")

    monkeypatch.setattr(FireRule, "observe", broken)
    with caplog.at_level(logging.ERROR, logger="alerts.rules"):
        triggers = feed(engine(), [event(bracelet(), T0, "sos")])
    assert len(raised(triggers, AlarmKind.SOS)) == 1
    assert "rule fire failed" in caplog.text
