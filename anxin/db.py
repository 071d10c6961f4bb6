"""Database connections, start-up waiting and storage back-end detection."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from anxin.errors import DatabaseUnavailable
from anxin.storage import StoragePath, installed_version, schema_path

logger = logging.getLogger(__name__)


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[Any, ...]]:
    """Open a connection with a short connect timeout so that a dead server fails fast."""
    return psycopg.connect(url, autocommit=autocommit, connect_timeout=5)


def wait_for_database(url: str, *, timeout_s: float = 30.0) -> None:
    """Block until the server accepts connections; services start before the database does."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with connect(url, autocommit=True) as conn:
                conn.execute("SELECT 1")
                return
        except psycopg.OperationalError as exc:
            last = exc
            time.sleep(0.5)
    raise DatabaseUnavailable(
        f"PostgreSQL at {_redacted(url)} is not reachable after {timeout_s:.0f} s ({last}). "
        "Start it (see README, 'Set-up') or set ANXIN_DATABASE_URL."
    )


def with_database(url: str, dbname: str) -> str:
    """The same server URL naming another database (URLs stay URLs: yoyo needs one)."""
    parts = urlsplit(url)
    if not parts.scheme:
        return make_conninfo(url, dbname=dbname)
    return urlunsplit(parts._replace(path="/" + dbname))


def as_url(conninfo: str) -> str:
    """A libpq ``key=value`` string as a ``postgresql://`` URL (URLs pass through)."""
    if urlsplit(conninfo).scheme:
        return conninfo
    params = conninfo_to_dict(conninfo)
    user = quote(str(params.get("user", "")), safe="")
    password = params.get("password")
    auth = f"{user}:{quote(str(password), safe='')}@" if password else (f"{user}@" if user else "")
    host = params.get("host", "localhost")
    port = params.get("port", 5432)
    return f"postgresql://{auth}{host}:{port}/{params.get('dbname', '')}"


def ensure_database_exists(url: str) -> bool:
    """Create the target database if the server lacks it; returns True when it was created.

    A fresh machine has a server but no ``anxin`` database, and one command should set it all up.
    """
    params = conninfo_to_dict(url)
    name = str(params.get("dbname") or "")
    if not name:
        return False
    admin = with_database(url, "postgres")
    with connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        logger.info("created database %s", name)
        return True


@dataclass(frozen=True)
class StorageBackend:
    """Which storage path the schema uses: TimescaleDB or the plain-PostgreSQL equivalent."""

    timescale_version: str | None
    server_version: str

    @property
    def is_timescale(self) -> bool:
        return self.timescale_version is not None

    def describe(self) -> str:
        if self.timescale_version:
            return (
                f"TimescaleDB {self.timescale_version} on PostgreSQL {self.server_version}: "
                "hypertables, compression, retention and continuous aggregates"
            )
        return (
            f"plain PostgreSQL {self.server_version}: plain tables "
            "with BRIN time indexes, date_bin views for hourly aggregates, retention by "
            "'anxin db maintain'"
        )


def detect_backend(conn: psycopg.Connection[tuple[Any, ...]]) -> StorageBackend:
    """The path the schema is on (hypertables or plain tables), which decides what queries and
    maintenance do; before the first migration, whether the extension is in the database.

    The extension alone does not decide: a database on the plain path may have it installed
    (``ANXIN_STORAGE=postgresql`` on a TimescaleDB server whose template has it).
    """
    installed = installed_version(conn)
    path = schema_path(conn)
    timescale = path is StoragePath.TIMESCALEDB or (path is None and installed is not None)
    version = conn.execute("SHOW server_version").fetchone()
    return StorageBackend(
        timescale_version=installed if timescale else None,
        server_version=str(version[0]).split()[0] if version else "?",
    )


def _redacted(url: str) -> str:
    params = conninfo_to_dict(url)
    if "password" in params:
        params["password"] = "***"
    return make_conninfo("", **params)


class WorkerConnection:
    """A long-running worker's connection: opened on first use, opened again after it broke
    or was closed (a database restart), so the worker's loop only has to call ``close`` when an
    error leaves the session in doubt."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.Connection[Any] | None = None

    def get(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self._url, connect_timeout=5)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
