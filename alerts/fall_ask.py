"""Asking the wearer when a fall is in doubt: the two score bands and the prompts awaiting answers.

A score well above the model's threshold is a fall alarm at once, as before. A score near the
threshold (``ANXIN_FALL_ASK_BELOW_LOGIT`` under it to ``ANXIN_FALL_ASK_ABOVE_LOGIT`` over it, in
log-odds, the scale the classifier averages on) is a *possible fall*: the bracelet asks "are you
OK?" and the fall alarm follows unless the wearer says so. Everything but an "I'm OK" ends in
the alarm (a "help", no answer by the deadline, the bracelet going offline, a prompt the broker
would not take, a clear fall meanwhile), so asking can delay an alarm but never silence one.
Pure: the caller holds the lock, stores the records and sends the prompts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

from alerts.models import DeviceContext, Trigger


class Band(StrEnum):
    """What a score calls for."""

    NONE = "none"
    ASK = "ask"
    ALARM = "alarm"


class PromptOutcome(StrEnum):
    """How a possible fall ended; stable strings (``fall_prompts.outcome``, metrics, API)."""

    CANCELLED = "cancelled"
    HELP = "help"
    NO_ANSWER = "no_answer"
    DEVICE_OFFLINE = "device_offline"
    DOWNLINK_FAILED = "downlink_failed"
    LYING_STILL = "lying_still"
    CLEAR_FALL = "clear_fall"


_ALARM_TITLES = {
    PromptOutcome.HELP: "the wearer asked for help",
    PromptOutcome.NO_ANSWER: "no answer to 'are you OK?'",
    PromptOutcome.DEVICE_OFFLINE: "the bracelet is offline, the wearer could not be asked",
    PromptOutcome.DOWNLINK_FAILED: "the prompt could not be sent",
    PromptOutcome.LYING_STILL: "no movement after the impact",
    PromptOutcome.CLEAR_FALL: "a clear fall followed",
}


def logit(p: float) -> float:
    """Log-odds, with the ends clamped so a score of exactly 0 or 1 stays finite."""
    p = min(max(p, 1e-12), 1.0 - 1e-12)
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class FallBands:
    """The decision around the model's threshold; both widths 0 is the single threshold."""

    threshold: float
    below_logit: float
    above_logit: float

    def margin(self, score: float) -> float:
        """How far the score is above the threshold, in log-odds."""
        return logit(score) - logit(self.threshold)

    def judge(self, score: float) -> Band:
        margin = self.margin(score)
        if margin >= self.above_logit:
            return Band.ALARM
        if margin >= -self.below_logit:
            return Band.ASK
        return Band.NONE


@dataclass
class PossibleFall:
    """A doubtful fall waiting for the wearer; ``alarm`` is the fall alarm it becomes."""

    uid: str
    device: DeviceContext
    alarm: Trigger
    score: float
    deadline_ms: int
    failure: str | None = None


@dataclass(frozen=True)
class Closing:
    """A possible fall decided: cancelled by the wearer, or the fall alarm to raise."""

    fall: PossibleFall
    outcome: PromptOutcome
    at_ms: int
    detail: str | None = None
    raised: Trigger | None = None
    """The alarm already raised for the same fall (a clear impact), instead of the fall's own."""

    @property
    def alarm(self) -> Trigger | None:
        if self.outcome is PromptOutcome.CANCELLED:
            return None
        if self.raised is not None:
            return self.raised
        base = self.fall.alarm
        prompt = {"id": self.fall.uid, "outcome": self.outcome.value}
        if self.detail:
            prompt["detail"] = self.detail
        return replace(
            base,
            title=f"{base.title}: {_ALARM_TITLES[self.outcome]}",
            evidence={**base.evidence, "prompt": prompt},
        )


class PromptBook:
    """The open possible falls, at most one per device: further doubtful impacts of the same
    fall (a recording often has several) join the prompt already on the wrist."""

    def __init__(self) -> None:
        self._open: dict[int, PossibleFall] = {}

    def __len__(self) -> int:
        return len(self._open)

    def get(self, device_id: int) -> PossibleFall | None:
        return self._open.get(device_id)

    def add(self, fall: PossibleFall) -> None:
        self._open[fall.device.device_id] = fall

    def answer(self, device_id: int, prompt_uid: str, event: str, at_ms: int) -> Closing | None:
        """The wearer's ``fall_ok`` or ``fall_help``; an answer to another (older, already
        decided) prompt changes nothing and gives None."""
        fall = self._open.get(device_id)
        if fall is None or fall.uid != prompt_uid:
            return None
        del self._open[device_id]
        ok = event == "fall_ok"
        return Closing(fall, PromptOutcome.CANCELLED if ok else PromptOutcome.HELP, at_ms)

    def close(
        self, device_id: int, outcome: PromptOutcome, at_ms: int, raised: Trigger | None = None
    ) -> Closing | None:
        """End a device's open prompt for a reason the platform saw (offline, a clear fall)."""
        fall = self._open.pop(device_id, None)
        return None if fall is None else Closing(fall, outcome, at_ms, raised=raised)

    def forget(self, prompt_uid: str) -> None:
        """Drop a prompt that turned out to be on record already (a redelivered impact)."""
        for device_id, fall in list(self._open.items()):
            if fall.uid == prompt_uid:
                del self._open[device_id]

    def fail(self, prompt_uid: str, reason: str) -> None:
        """The downlink could not deliver the prompt; ``due`` raises the alarm at once."""
        for fall in self._open.values():
            if fall.uid == prompt_uid:
                fall.failure = reason

    def due(self, now_ms: int) -> list[Closing]:
        """Prompts whose downlink failed or whose deadline passed without an answer."""
        closings = []
        for device_id, fall in list(self._open.items()):
            if fall.failure is not None:
                closings.append(Closing(fall, PromptOutcome.DOWNLINK_FAILED, now_ms, fall.failure))
            elif now_ms >= fall.deadline_ms:
                closings.append(Closing(fall, PromptOutcome.NO_ANSWER, now_ms))
            else:
                continue
            del self._open[device_id]
        return closings
