"""A fall alarm's evidence beyond its JSON: the impact window behind the score, and the wearer's
answer to "are you OK?".

The alarm keeps only a reference to its window (device, ``seq``, ``impact_ts``); the samples
live in ``impact_window``, where retention may have pruned them (or ingest never got them), so
both lookups may find nothing and the page must say so rather than fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts.fall_scoring import stored_impact
from anxin import wire
from api.db import Conn

FALL_RULE = "fall_classifier"
"""``evidence.rule`` of the alarms the fall classifier raised: the ones with a window."""


@dataclass(frozen=True)
class WearerAnswer:
    """How the possible fall behind an alarm ended. ``asked_at`` is None when the platform
    decided without asking (lying still, bracelet offline); ``outcome`` None while waiting."""

    outcome: str | None
    impact_at: datetime
    asked_at: datetime | None
    closed_at: datetime | None

    @property
    def closed_after_s(self) -> float | None:
        """Seconds from the impact to the decision: how long asking delayed the alarm."""
        if self.closed_at is None:
            return None
        return (self.closed_at - self.impact_at).total_seconds()


def stored_window(*, conn: Conn, device_id: int, evidence: Mapping[str, Any]) -> wire.Impact | None:
    """The impact reading the evidence names, as the bracelet sent it; None when the evidence
    names none (older alarms) or the window is no longer stored. The timestamp is matched
    within ±1 ms because ``timestamptz`` and the float epoch round differently."""
    impact_ts, seq = evidence.get("impact_ts"), evidence.get("seq")
    if not isinstance(impact_ts, int) or not isinstance(seq, int):
        return None
    row = conn.execute(
        """SELECT rate_hz, range_g, start_ms, acc, t_ms FROM impact_window
           WHERE device_id = %(device)s AND seq = %(seq)s
             AND ts BETWEEN to_timestamp(%(ts)s::float8 / 1000) - interval '1 ms'
                        AND to_timestamp(%(ts)s::float8 / 1000) + interval '1 ms'
           ORDER BY ts LIMIT 1""",
        {"device": device_id, "seq": seq, "ts": impact_ts},
    ).fetchone()
    if row is None:
        return None
    rate_hz, range_g, start_ms, flat, t_ms = row
    return stored_impact(
        seq=seq,
        ts=impact_ts,
        rate_hz=rate_hz,
        range_g=range_g,
        start_ms=start_ms,
        flat_acc=flat,
        t_ms=t_ms,
    )


def wearer_answer(*, conn: Conn, alarm_id: int) -> WearerAnswer | None:
    """The possible fall that became this alarm (``fall_prompts.alarm_id``), or None when the
    fall was clear at once and nobody was asked."""
    row = conn.execute(
        """SELECT outcome, impact_at, asked_at, closed_at FROM fall_prompts
           WHERE alarm_id = %s ORDER BY id DESC LIMIT 1""",
        (alarm_id,),
    ).fetchone()
    return None if row is None else WearerAnswer(*row)
