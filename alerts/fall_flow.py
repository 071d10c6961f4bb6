"""From an impact window to a fall alarm, asking the wearer first when the score is in doubt.

The detection worker calls in under its lock as readings arrive (``impact``, ``answer``,
``presence``) and on its ticker (``tick``); what must be written is kept as effects until the
worker's transaction commits (``take`` / ``put_back``), so a database outage loses no prompt
and no alarm. A prompt goes to the bracelet only after its record is committed, so every answer
finds its record. Bands and outcomes: ``alerts/fall_ask.py``.
"""

from __future__ import annotations

import functools
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import psycopg

from alerts import metrics
from alerts.context import subject_of
from alerts.fall_ask import Band, Closing, FallBands, PossibleFall, PromptBook, PromptOutcome
from alerts.fall_prompt_store import close_prompt, open_prompts, record_prompt
from alerts.fall_watch import NoRecoveryWatch
from alerts.models import AlarmKind, DeviceContext, Severity, Trigger
from anxin import wire
from anxin.settings import Settings

logger = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]
RaiseAlarm = Callable[[Conn, Trigger], int]


class FallScorer(Protocol):
    """Scores an impact reading; ``None`` when the window cannot be judged."""

    threshold: float
    version: str

    def score_impact(self, reading: wire.Impact) -> float | None: ...

    def still_after_impact(self, reading: wire.Impact) -> bool: ...


class CommandSender(Protocol):
    """The downlink (``alerts/downlink.py``)."""

    def send(
        self,
        site_uid: str,
        device_uid: str,
        prompt: wire.FallPrompt,
        on_failure: Callable[[str], None],
    ) -> None: ...


@dataclass(frozen=True)
class _Record:
    """Keep a possible fall; ``asked_ms`` is None when it was decided without asking."""

    fall: PossibleFall
    asked_ms: int | None


Effect = _Record | Closing


def fall_alarm(ctx: DeviceContext, evidence: dict[str, Any], at_ms: int) -> Trigger:
    """The fall alarm of a wearer, whether raised at once or after asking."""
    return Trigger(
        kind=AlarmKind.FALL,
        severity=Severity.ALARM,
        subject=subject_of(ctx),
        site_uid=ctx.site_uid,
        title=f"Fall detected ({ctx.resident_uid or ctx.device_uid})",
        evidence=evidence,
        device_id=ctx.device_id,
        at_ms=at_ms,
    )


class FallFlow:
    """Scores impacts, asks about doubtful ones and turns every unanswered doubt into an alarm."""

    def __init__(
        self,
        scorer: FallScorer,
        settings: Settings,
        watch: NoRecoveryWatch,
        lock: threading.Lock,
    ) -> None:
        self._scorer = scorer
        self.bands = FallBands(
            scorer.threshold, settings.fall_ask_below_logit, settings.fall_ask_above_logit
        )
        self._timeout_s = settings.fall_ask_timeout_s
        self._watch = watch
        self._lock = lock
        self._book = PromptBook()
        self._offline: set[int] = set()
        self._effects: list[Effect] = []
        self.downlink: CommandSender | None = None

    # --- under the caller's lock ---

    def impact(self, ctx: DeviceContext, reading: wire.Impact, now_ms: int) -> list[Trigger]:
        """A clear fall's alarm (returned, for the caller to raise); a doubtful one is asked."""
        score = self._scorer.score_impact(reading)
        band = Band.NONE if score is None else self.bands.judge(score)
        if score is None or band is Band.NONE:
            logger.info("impact on %s not a fall (score %s)", ctx.device_uid, score)
            return []
        alarm = fall_alarm(ctx, self._evidence(reading, score), reading.ts)
        if band is Band.ALARM:
            self._watch.fall_confirmed(alarm, ctx.device_id)
            closing = self._book.close(ctx.device_id, PromptOutcome.CLEAR_FALL, now_ms, alarm)
            if closing is None:
                return [alarm]
            self._closed(closing)  # raises this alarm with the prompt's record
            return []
        if self._book.get(ctx.device_id) is not None:
            return []  # another window of the fall already being asked about
        fall = PossibleFall(
            uid=uuid.uuid4().hex,
            device=ctx,
            alarm=alarm,
            score=score,
            deadline_ms=now_ms + self._timeout_s * 1000,
        )
        if self._scorer.still_after_impact(reading):
            self._decide_unasked(fall, PromptOutcome.LYING_STILL, now_ms)
        elif ctx.device_id in self._offline:
            self._decide_unasked(fall, PromptOutcome.DEVICE_OFFLINE, now_ms)
        else:
            self._book.add(fall)
            self._effects.append(_Record(fall, now_ms))
            metrics.FALL_PROMPTS.labels(event="asked").inc()
            logger.info("possible fall on %s (score %.3f): asking", ctx.device_uid, score)
        return []

    def answer(self, ctx: DeviceContext, reading: wire.Event) -> None:
        """The wearer's ``fall_ok`` / ``fall_help``, matched to the open prompt by its id."""
        closing = self._book.answer(ctx.device_id, reading.code or "", reading.event, reading.ts)
        if closing is None:
            metrics.FALL_PROMPTS.labels(event="unmatched_answer").inc()
            logger.info("%s from %s answers no open prompt", reading.event, ctx.device_uid)
            return
        self._closed(closing)

    def presence(self, device_id: int, status: wire.Status, now_ms: int) -> None:
        """A bracelet that goes offline cannot be asked: its open prompt alarms at once."""
        if status.state == "online":
            self._offline.discard(device_id)
            return
        self._offline.add(device_id)
        closing = self._book.close(device_id, PromptOutcome.DEVICE_OFFLINE, now_ms)
        if closing is not None:
            self._closed(closing)

    def tick(self, now_ms: int) -> None:
        for closing in self._book.due(now_ms):
            self._closed(closing)

    def has_effects(self) -> bool:
        return bool(self._effects)

    def take(self) -> list[Effect]:
        effects, self._effects = self._effects, []
        return effects

    def put_back(self, effects: list[Effect]) -> None:
        """Effects whose transaction failed go first again at the next store."""
        self._effects = effects + self._effects

    # --- outside the lock, in the caller's transaction ---

    def write(
        self, conn: Conn, effects: list[Effect], raise_alarm: RaiseAlarm
    ) -> list[PossibleFall]:
        """Store the effects; returns the prompts to send once the transaction commits."""
        to_send: list[PossibleFall] = []
        for effect in effects:
            if isinstance(effect, _Record):
                fresh = record_prompt(
                    conn=conn,
                    fall=effect.fall,
                    threshold=self.bands.threshold,
                    asked_ms=effect.asked_ms,
                )
                if fresh and effect.asked_ms is not None:
                    to_send.append(effect.fall)
                elif not fresh:
                    with self._lock:
                        self._book.forget(effect.fall.uid)
            else:
                alarm = effect.alarm
                alarm_id = None if alarm is None else raise_alarm(conn, alarm)
                close_prompt(conn=conn, closing=effect, alarm_id=alarm_id)
        return to_send

    def send(self, falls: list[PossibleFall], now_ms: int) -> None:
        """Publish committed prompts; one that cannot be sent alarms at the next tick."""
        for fall in falls:
            prompt = wire.FallPrompt(
                id=fall.uid, ts=now_ms, impact_ts=fall.alarm.at_ms, timeout_s=self._timeout_s
            )
            if self.downlink is None:
                self._failed(fall.uid, "no downlink")
            else:
                on_failure = functools.partial(self._failed, fall.uid)
                self.downlink.send(fall.device.site_uid, fall.device.device_uid, prompt, on_failure)

    def restore(self, conn: Conn, contexts: Mapping[int, DeviceContext]) -> None:
        """Prompts left open by an earlier run keep their deadline (never silence on restart)."""
        restored = []
        for row in open_prompts(conn=conn):
            ctx = contexts.get(row.device_id)
            if ctx is None:
                continue
            alarm = fall_alarm(ctx, row.evidence, row.impact_ms)
            restored.append(PossibleFall(row.uid, ctx, alarm, row.score, row.deadline_ms))
        with self._lock:
            for fall in restored:
                if self._book.get(fall.device.device_id) is None:
                    self._book.add(fall)
        if restored:
            logger.info("%d fall prompt(s) still waiting for an answer", len(restored))

    def _failed(self, prompt_uid: str, reason: str) -> None:
        with self._lock:
            self._book.fail(prompt_uid, reason)

    def _decide_unasked(self, fall: PossibleFall, outcome: PromptOutcome, now_ms: int) -> None:
        self._effects.append(_Record(fall, None))
        self._closed(Closing(fall, outcome, now_ms))

    def _closed(self, closing: Closing) -> None:
        metrics.FALL_PROMPTS.labels(event=closing.outcome.value).inc()
        alarm = closing.alarm
        if alarm is not None and closing.raised is None:
            self._watch.fall_confirmed(alarm, closing.fall.device.device_id)
        logger.info(
            "possible fall %s on %s: %s",
            closing.fall.uid,
            closing.fall.device.device_uid,
            closing.outcome.value,
        )
        self._effects.append(closing)

    def _evidence(self, reading: wire.Impact, score: float) -> dict[str, Any]:
        peak = max((x * x + y * y + z * z) ** 0.5 for x, y, z in reading.acc)
        return {
            "rule": "fall_classifier",
            "score": round(score, 4),
            "threshold": self.bands.threshold,
            "model_version": self._scorer.version,
            "margin_logit": round(self.bands.margin(score), 3),
            "ask_band_logit": [-self.bands.below_logit, self.bands.above_logit],
            "peak_g": round(peak, 2),
            "rate_hz": reading.rate_hz,
            "range_g": reading.range_g,
            "impact_ts": reading.ts,
            "seq": reading.seq,
        }
