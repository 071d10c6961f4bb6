"""Possible falls for inspectors: how often bracelets asked, who cancelled, what became alarms.

A wearer's "I'm OK" leaves no alarm behind, so without this record a doubtful fall cancelled
on the wrist would be invisible to anyone checking how a facility's bracelets behave.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg.rows import class_row

from api.db import Conn
from api.inspector.filters import effective_sites
from api.inspector.models import FallPrompt, FallPromptQuery

_QUERY = """
SELECT p.id, p.site_id, s.uid AS site_uid, d.uid AS device_uid, r.uid AS resident_uid,
       p.impact_at, p.score, p.threshold, p.asked_at, p.deadline_at,
       coalesce(p.outcome, 'open') AS outcome, p.closed_at, p.alarm_id
FROM fall_prompts p
JOIN sites s ON s.id = p.site_id
JOIN devices d ON d.id = p.device_id
LEFT JOIN residents r ON r.id = p.resident_id
WHERE p.site_id = ANY(%(sites)s::bigint[])
  AND (%(outcomes)s::text[] IS NULL OR coalesce(p.outcome, 'open') = ANY(%(outcomes)s::text[]))
  AND (%(since)s::timestamptz IS NULL OR p.impact_at >= %(since)s::timestamptz)
  AND (%(until)s::timestamptz IS NULL OR p.impact_at < %(until)s::timestamptz)
ORDER BY p.impact_at DESC, p.id DESC
LIMIT %(limit)s
"""


def fall_prompts(*, conn: Conn, scope: Sequence[int], spec: FallPromptQuery) -> list[FallPrompt]:
    """The newest ``spec.limit`` possible falls of the sites in ``scope`` that match ``spec``."""
    params = {
        "sites": effective_sites(scope, spec.sites),
        "outcomes": [str(o) for o in spec.outcomes] or None,
        "since": spec.since,
        "until": spec.until,
        "limit": spec.limit,
    }
    with conn.cursor(row_factory=class_row(FallPrompt)) as cur:
        return cur.execute(_QUERY, params).fetchall()
