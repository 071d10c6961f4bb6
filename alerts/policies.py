"""Escalation policies: which audiences are told after how long, per site, kind and severity.

The defaults are seeded by migration 20261123_06_escalation and explained in docs/alarms.md. A
site, an alarm kind or a severity band gets its own policy with ``set_policy``; ``policy_for``
picks the most specific one.

Functions take a keyword-only connection and do not commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from alerts.roster import check_audiences
from anxin.errors import Conflict

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Step:
    tier: int
    delay_s: float
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    id: int
    reminder_s: float | None
    steps: tuple[Step, ...]


def policy_for(*, conn: Conn, site_id: int, kind: str, severity: int) -> Policy:
    """The most specific policy: the site's own before the default, the kind's own before any
    kind, then the highest ``min_severity`` not above ``severity``."""
    row = conn.execute(
        """SELECT id, reminder_s FROM escalation_policies
           WHERE (site_id = %s OR site_id IS NULL) AND (alarm_kind = %s OR alarm_kind IS NULL)
             AND min_severity <= %s
           ORDER BY site_id IS NULL, alarm_kind IS NULL, min_severity DESC
           LIMIT 1""",
        (site_id, kind, severity),
    ).fetchone()
    if row is None:
        raise LookupError(
            f"no escalation policy matches a {kind} alarm of severity {severity} at site "
            f"{site_id}; restore the default policies (migration 20261123_06_escalation)"
        )
    steps = conn.execute(
        "SELECT tier, delay_s, audiences FROM escalation_steps WHERE policy_id = %s ORDER BY tier",
        (row[0],),
    ).fetchall()
    return Policy(
        id=row[0],
        reminder_s=row[1],
        steps=tuple(Step(tier=s[0], delay_s=s[1], audiences=tuple(s[2])) for s in steps),
    )


def set_policy(
    *,
    conn: Conn,
    steps: Sequence[Step],
    site_id: int | None = None,
    alarm_kind: str | None = None,
    min_severity: int = 1,
    reminder_s: float | None = None,
    note: str = "",
) -> int:
    """Create or replace the policy of (site, kind, minimum severity); ``None`` site or kind
    means "any". Tier 1 must be due at once: an alarm is never without a delivery record."""
    tiers = [s.tier for s in steps]
    if not steps or tiers != sorted(set(tiers)) or steps[0].delay_s != 0:
        raise Conflict("give steps in tier order, without repeats, the first at delay 0 s")
    if any(b.delay_s < a.delay_s for a, b in zip(steps, steps[1:], strict=False)):
        raise Conflict("a later tier cannot be due before an earlier one")
    for step in steps:
        check_audiences(step.audiences)
    row = conn.execute(
        """INSERT INTO escalation_policies (site_id, alarm_kind, min_severity, reminder_s, note)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (site_id, alarm_kind, min_severity)
           DO UPDATE SET reminder_s = EXCLUDED.reminder_s, note = EXCLUDED.note
           RETURNING id""",
        (site_id, alarm_kind, min_severity, reminder_s, note),
    ).fetchone()
    assert row is not None
    policy_id = int(row[0])
    conn.execute("DELETE FROM escalation_steps WHERE policy_id = %s", (policy_id,))
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO escalation_steps (policy_id, tier, delay_s, audiences)
               VALUES (%s, %s, %s, %s)""",
            [(policy_id, s.tier, s.delay_s, list(s.audiences)) for s in steps],
        )
    return policy_id
