"""Data for the inspector tests: sites and alarms written with exact times, so that every
expected count and percentile can be worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg

from anxin import registry

# 2026-11-02 02:00 UTC is 10:00 in Shanghai (UTC+8): the day shift.
T0 = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def make_site(
    conn: psycopg.Connection, uid: str, *, region: str = "", timezone: str = "Asia/Shanghai"
) -> int:
    site = registry.create_site(
        conn=conn, uid=uid, name=f"Site {uid}", kind="care_home", region=region, timezone=timezone
    )
    return site.id


def add_alarm(
    conn: psycopg.Connection,
    *,
    site_id: int,
    raised_at: datetime,
    kind: str = "fall",
    severity: int = 3,
    ack_after_s: float | None = None,
    resolve_after_s: float | None = None,
    cleared_after_s: float | None = None,
    outcome: str | None = None,
    silenced: bool = False,
    title: str | None = None,
) -> int:
    """One alarm whose state follows from the times given (resolved > cleared > acknowledged),
    each about a subject of its own (one active alarm per subject and kind is the rule)."""

    def after(seconds: float | None) -> datetime | None:
        return None if seconds is None else raised_at + timedelta(seconds=seconds)

    if resolve_after_s is not None:
        state = "resolved"
    elif cleared_after_s is not None:
        state = "cleared"
    elif ack_after_s is not None:
        state = "acknowledged"
    else:
        state = "open"
    row = conn.execute(
        """INSERT INTO alarms (kind, severity, state, site_id, subject_kind, subject_id, title,
                               first_seen_at, last_seen_at, raised_at, acknowledged_at,
                               acknowledged_by, resolved_at, resolved_by, outcome, cleared_at,
                               silenced)
           VALUES (%(kind)s, %(severity)s, %(state)s, %(site)s, 'location',
                   (SELECT coalesce(max(subject_id), 0) + 1 FROM alarms), %(title)s,
                   %(raised)s, %(raised)s, %(raised)s, %(ack)s, %(ack_by)s, %(res)s, %(res_by)s,
                   %(outcome)s, %(cleared)s, %(silenced)s)
           RETURNING id""",
        {
            "kind": kind,
            "severity": severity,
            "state": state,
            "site": site_id,
            "title": title or f"{kind} at site {site_id}",
            "raised": raised_at,
            "ack": after(ack_after_s),
            "ack_by": "nurse" if ack_after_s is not None else None,
            "res": after(resolve_after_s),
            "res_by": "nurse" if resolve_after_s is not None else None,
            "outcome": outcome,
            "cleared": after(cleared_after_s),
            "silenced": silenced,
        },
    ).fetchone()
    assert row is not None
    return int(row[0])
