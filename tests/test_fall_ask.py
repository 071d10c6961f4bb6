"""Asking the wearer about a doubtful fall, without broker or database: the two bands, the open
prompts and how each ends (the wire's side: ``test_decode.py``)."""

from __future__ import annotations

import pytest

from alerts.fall_ask import Band, FallBands, PossibleFall, PromptBook, PromptOutcome, logit
from alerts.fall_flow import fall_alarm
from alerts.models import DeviceContext

NOW = 1_795_000_000_000
CTX = DeviceContext(
    device_id=1,
    device_uid="b1",
    device_kind="bracelet",
    site_uid="s1",
    site_kind="care_home",
    heartbeat_interval_s=60,
    resident_id=9,
    resident_uid="r9",
)


def _score(margin: float, threshold: float = 0.3) -> float:
    raw = logit(threshold) + margin
    return 1.0 / (1.0 + 2.718281828459045 ** (-raw))


@pytest.mark.parametrize(
    ("margin", "band"),
    [(-5.0, Band.NONE), (-2.01, Band.NONE), (-1.99, Band.ASK), (0.0, Band.ASK), (1.99, Band.ASK)]
    + [(2.0, Band.ALARM), (6.0, Band.ALARM)],
)
def test_scores_near_the_threshold_ask_and_far_above_alarm(margin, band):
    assert FallBands(0.3, 2.0, 2.0).judge(_score(margin)) is band


def test_zero_widths_are_the_single_threshold_of_before():
    bands = FallBands(0.3, 0.0, 0.0)
    assert bands.judge(_score(0.0)) is Band.ALARM
    assert bands.judge(_score(-0.01)) is Band.NONE


def _fall(uid: str = "p1", deadline: int = NOW + 30_000) -> PossibleFall:
    alarm = fall_alarm(CTX, {"score": 0.3}, NOW - 10_000)
    return PossibleFall(uid=uid, device=CTX, alarm=alarm, score=0.3, deadline_ms=deadline)


def test_ok_cancels_without_an_alarm_and_help_raises_it():
    book = PromptBook()
    book.add(_fall())
    assert book.answer(1, "older-prompt", "fall_ok", NOW) is None
    cancelled = book.answer(1, "p1", "fall_ok", NOW)
    assert cancelled is not None and cancelled.outcome is PromptOutcome.CANCELLED
    assert cancelled.alarm is None and len(book) == 0
    book.add(_fall("p2"))
    helped = book.answer(1, "p2", "fall_help", NOW)
    assert helped is not None and helped.alarm is not None
    assert helped.alarm.evidence["prompt"] == {"id": "p2", "outcome": "help"}
    assert helped.alarm.at_ms == NOW - 10_000  # the alarm is about the impact's time


def test_no_answer_by_the_deadline_and_a_failed_downlink_raise_the_alarm():
    book = PromptBook()
    book.add(_fall(deadline=NOW + 30_000))
    assert book.due(NOW + 29_999) == []
    [late] = book.due(NOW + 30_000)
    assert late.outcome is PromptOutcome.NO_ANSWER and late.alarm is not None
    book.add(_fall("p2", deadline=NOW + 30_000))
    book.fail("p2", "refused by the broker: Not authorized")
    [failed] = book.due(NOW)
    assert failed.outcome is PromptOutcome.DOWNLINK_FAILED
    assert failed.alarm is not None and "could not be sent" in failed.alarm.title
    assert failed.alarm.evidence["prompt"]["detail"] == "refused by the broker: Not authorized"
    assert len(book) == 0


def test_a_clear_fall_meanwhile_closes_the_prompt_with_its_own_alarm():
    book = PromptBook()
    book.add(_fall())
    clear = fall_alarm(CTX, {"score": 0.99}, NOW)
    closing = book.close(1, PromptOutcome.CLEAR_FALL, NOW, clear)
    assert closing is not None and closing.alarm is clear
    assert book.close(1, PromptOutcome.DEVICE_OFFLINE, NOW) is None
