"""The API's connection pool and the per-request connection dependency.

Connections are in autocommit mode: a read runs as it is, and a service that writes opens
``conn.transaction()`` itself, so the commit happens before the response is sent (a yield
dependency's exit may run after it, which would report success for a write that then failed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from fastapi import Request
from psycopg_pool import ConnectionPool

Conn = psycopg.Connection[Any]

POOL_MAX = 10
"""Requests run in FastAPI's thread pool and hold a connection only while they query; ten
covers the console and integrations of a region while staying far below max_connections."""


def open_pool(url: str) -> ConnectionPool[Conn]:
    """Open the pool without waiting: the API starts (and says why it cannot serve) even while
    the database is still coming up."""
    pool: ConnectionPool[Conn] = ConnectionPool(
        url,
        min_size=1,
        max_size=POOL_MAX,
        kwargs={"autocommit": True, "connect_timeout": 5},
        open=False,
        name="anxin-api",
    )
    pool.open(wait=False)
    return pool


def get_conn(request: Request) -> Iterator[Conn]:
    """A pooled connection for the duration of one request."""
    pool: ConnectionPool[Conn] = request.app.state.pool
    with pool.connection(timeout=10) as conn:
        yield conn
