"""Data access for possible falls (``fall_prompts``): asked, decided, and reloaded at start-up.

Functions take a keyword-only connection and do not commit: a prompt's record and the alarm it
becomes are written in the detection worker's one transaction. The open prompts are read back
when the worker starts, so a restart during the wait still ends in the alarm at the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from alerts.fall_ask import Closing, PossibleFall

Conn = psycopg.Connection[Any]


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def record_prompt(
    *, conn: Conn, fall: PossibleFall, threshold: float, asked_ms: int | None
) -> bool:
    """Keep a possible fall; ``asked_ms`` None when it was decided without asking. False when
    this impact is already on record (a redelivered reading), which must not ask again."""
    row = conn.execute(
        """INSERT INTO fall_prompts (uid, device_id, site_id, resident_id, impact_at, score,
                                     threshold, evidence, asked_at, deadline_at)
           SELECT %(uid)s, d.id, d.site_id, d.resident_id, %(impact)s, %(score)s,
                  %(threshold)s, %(evidence)s, %(asked)s, %(deadline)s
           FROM devices d WHERE d.id = %(device)s
           ON CONFLICT (device_id, impact_at) DO NOTHING
           RETURNING id""",
        {
            "uid": fall.uid,
            "device": fall.device.device_id,
            "impact": _at(fall.alarm.at_ms),
            "score": fall.score,
            "threshold": threshold,
            "evidence": Jsonb(fall.alarm.evidence),
            "asked": None if asked_ms is None else _at(asked_ms),
            "deadline": None if asked_ms is None else _at(fall.deadline_ms),
        },
    ).fetchone()
    return row is not None


def close_prompt(*, conn: Conn, closing: Closing, alarm_id: int | None) -> None:
    """Record how a possible fall ended; a prompt already decided keeps its first outcome."""
    conn.execute(
        """UPDATE fall_prompts SET outcome = %s, closed_at = %s, alarm_id = %s
           WHERE uid = %s AND outcome IS NULL""",
        (closing.outcome.value, _at(closing.at_ms), alarm_id, closing.fall.uid),
    )


@dataclass(frozen=True)
class OpenPrompt:
    """A prompt still waiting, as stored: enough to rebuild its alarm after a restart."""

    uid: str
    device_id: int
    impact_ms: int
    score: float
    evidence: dict[str, Any]
    deadline_ms: int


def open_prompts(*, conn: Conn) -> list[OpenPrompt]:
    rows = conn.execute(
        """SELECT uid, device_id, impact_at, score, evidence, deadline_at FROM fall_prompts
           WHERE outcome IS NULL AND deadline_at IS NOT NULL ORDER BY id"""
    ).fetchall()
    return [
        OpenPrompt(uid, device_id, _ms(impact), score, evidence, _ms(deadline))
        for uid, device_id, impact, score, evidence, deadline in rows
    ]
