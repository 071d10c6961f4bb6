"""The caller's scope as the explicit list of site ids that every inspector query takes.

The rules themselves live in ``api.scope``; this turns them into ids once per request, so the
query modules stay free of the API's notion of a principal (and usable by the benchmark).
"""

from __future__ import annotations

from psycopg import sql

from api import scope as access
from api.db import Conn
from api.scope import Principal


def allowed_sites(*, conn: Conn, principal: Principal) -> list[int]:
    """The ids of the sites ``principal`` may read (every site for an admin)."""
    query = sql.SQL("SELECT id FROM sites WHERE {} ORDER BY id").format(
        access.sites(principal, "id")
    )
    return [int(row[0]) for row in conn.execute(query)]
