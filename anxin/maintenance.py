"""Retention for plain PostgreSQL, where no TimescaleDB job drops old chunks."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from anxin.db import detect_backend


def apply_retention(*, conn: psycopg.Connection[Any]) -> dict[str, int]:
    """Delete readings older than each table's policy; a no-op under TimescaleDB."""
    if detect_backend(conn).is_timescale:
        return {}
    deleted: dict[str, int] = {}
    for table, keep in conn.execute("SELECT table_name, keep FROM retention_policy").fetchall():
        cur = conn.execute(
            sql.SQL("DELETE FROM {} WHERE ts < now() - %s").format(sql.Identifier(table)), (keep,)
        )
        deleted[str(table)] = cur.rowcount
    return deleted
