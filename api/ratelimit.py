"""Login rate limiting per username and client address, kept in ``login_attempts``.

After ``MAX_FAILURES`` failed logins within ``WINDOW_S`` (counting only failures after the last
success), further attempts from that address for that username are refused until the oldest
counted failure leaves the window. Kept in the database so that every API process enforces
the same limit.
"""

from __future__ import annotations

import math
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]

MAX_FAILURES = 5
WINDOW_S = 300


def retry_after_s(*, conn: Conn, username: str, ip: str) -> int | None:
    """Seconds until this username may try again from this address; None if it may now."""
    row = conn.execute(
        """WITH recent AS (
               SELECT at, ok FROM login_attempts
               WHERE username = %(u)s AND ip = %(ip)s
                 AND at > now() - make_interval(secs => %(window)s)
           ), failures AS (
               SELECT at FROM recent
               WHERE NOT ok AND at > coalesce((SELECT max(at) FROM recent WHERE ok), '-infinity')
               ORDER BY at DESC LIMIT %(max)s
           )
           SELECT count(*), extract(epoch FROM min(at) + make_interval(secs => %(window)s) - now())
           FROM failures""",
        {"u": username, "ip": ip, "window": WINDOW_S, "max": MAX_FAILURES},
    ).fetchone()
    assert row is not None
    if int(row[0]) < MAX_FAILURES:
        return None
    return max(1, math.ceil(float(row[1])))


def record_attempt(*, conn: Conn, username: str, ip: str, ok: bool) -> None:
    """Note one attempt and forget this pair's attempts that left the window."""
    conn.execute(
        """DELETE FROM login_attempts WHERE username = %s AND ip = %s
           AND at < now() - make_interval(secs => %s)""",
        (username, ip, WINDOW_S),
    )
    conn.execute(
        "INSERT INTO login_attempts (username, ip, ok) VALUES (%s, %s, %s)", (username, ip, ok)
    )
