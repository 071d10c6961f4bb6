"""The possible-fall flow in the detection worker against the real database, with a stand-in
downlink: what is recorded, what is sent, and that every failure ends in the fall alarm."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from alerts.rules import RuleConfig, RuleEngine
from alerts.service import AlertsHandler
from anxin import wire
from anxin.consumer import Message
from anxin.settings import Settings
from tests.helpers import count, now_ms, register_bracelet

DOUBTFUL, CLEAR = 0.35, 0.99


class _Scorer:
    """Scores a window by its rate: the flow, not the model, is under test."""

    threshold = 0.3
    version = "test"

    def score_impact(self, reading: wire.Impact) -> float | None:
        return CLEAR if reading.rate_hz == 99 else DOUBTFUL

    def still_after_impact(self, reading: wire.Impact) -> bool:
        return False


class _Downlink:
    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.sent: list[tuple[str, wire.FallPrompt]] = []

    def send(
        self,
        site_uid: str,
        device_uid: str,
        prompt: wire.FallPrompt,
        on_failure: Callable[[str], None],
    ) -> None:
        self.sent.append((device_uid, prompt))
        if self.refuse:
            on_failure("refused by the broker: Not authorized")


def _handler(db_url: str, downlink: _Downlink) -> AlertsHandler:
    settings = Settings(database_url=db_url, alerts_metrics_port=0)
    handler = AlertsHandler(settings, RuleEngine(RuleConfig()), _Scorer())
    assert handler.falls is not None
    handler.falls.downlink = downlink
    handler.open()
    return handler


@pytest.fixture
def bracelet(db_url: str) -> Iterator[tuple[str, str]]:
    yield register_bracelet(db_url)


def _impact(site: str, dev: str, seq: int, *, rate_hz: float = 50) -> Message:
    reading = wire.Impact(
        seq=seq, ts=now_ms() - 9500, rate_hz=rate_hz, range_g=8, start_ms=-20, acc=[[0, 0, 1]] * 2
    )
    return Message(wire.topic(site, dev, "reading"), wire.encode(reading), seq, 1, 0)


def _answer(site: str, dev: str, seq: int, event: wire.EventName, prompt: str) -> Message:
    reading = wire.Event(seq=seq, ts=now_ms(), event=event, code=prompt)
    return Message(wire.topic(site, dev, "reading"), wire.encode(reading), seq, 1, 0)


def _outcomes(db_url: str) -> list[tuple[str | None, bool]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT outcome, alarm_id IS NOT NULL FROM fall_prompts ORDER BY id")
        return [(o, a) for o, a in rows]


def test_a_doubtful_fall_is_recorded_then_asked_and_ok_cancels_it(db_url, bracelet):
    site, dev = bracelet
    downlink = _Downlink()
    handler = _handler(db_url, downlink)
    handler.handle([_impact(site, dev, 1), _impact(site, dev, 2)])  # two windows, one prompt
    [(to, prompt)] = downlink.sent
    assert to == dev and prompt.timeout_s == 30
    assert _outcomes(db_url) == [(None, False)]
    handler.handle([_answer(site, dev, 3, "fall_ok", "an-older-prompt")])
    handler.handle([_answer(site, dev, 4, "fall_ok", prompt.id)])
    handler.tick()
    assert _outcomes(db_url) == [("cancelled", False)]
    assert count(db_url, "SELECT count(*) FROM alarms WHERE kind = 'fall'") == 0
    handler.close()


def test_a_refused_prompt_raises_the_fall_alarm_at_the_next_tick(db_url, bracelet):
    site, dev = bracelet
    handler = _handler(db_url, _Downlink(refuse=True))
    handler.handle([_impact(site, dev, 1)])
    handler.tick()
    assert _outcomes(db_url) == [("downlink_failed", True)]
    assert count(db_url, "SELECT count(*) FROM alarms WHERE kind = 'fall'") == 1
    handler.close()


def test_a_clear_fall_while_asked_alarms_once_and_closes_the_prompt(db_url, bracelet):
    site, dev = bracelet
    handler = _handler(db_url, _Downlink())
    handler.handle([_impact(site, dev, 1)])
    handler.handle([_impact(site, dev, 2, rate_hz=99)])
    assert _outcomes(db_url) == [("clear_fall", True)]
    assert count(db_url, "SELECT sum(occurrences) FROM alarms WHERE kind = 'fall'") == 1
    handler.close()


def test_a_prompt_open_at_a_restart_still_alarms_at_its_deadline(db_url, bracelet):
    site, dev = bracelet
    first = _handler(db_url, _Downlink())
    first.handle([_impact(site, dev, 1)])
    first.close()  # the worker dies during the wait
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE fall_prompts SET deadline_at = now() - interval '1 second'")
    second = _handler(db_url, _Downlink())
    second.tick()
    assert _outcomes(db_url) == [("no_answer", True)]
    second.close()


def test_an_offline_bracelet_is_not_asked_and_alarms_at_once(db_url, bracelet):
    site, dev = bracelet
    downlink = _Downlink()
    handler = _handler(db_url, downlink)
    offline = wire.encode(wire.Status(state="offline", ts=now_ms()))
    handler.handle([Message(wire.topic(site, dev, "status"), offline, 1, 1, 0)])
    handler.handle([_impact(site, dev, 2)])
    assert downlink.sent == []
    assert _outcomes(db_url) == [("device_offline", True)]
    handler.close()
