"""Fixtures: real PostgreSQL (a fresh database per test, cloned from a migrated template) and the
real Mosquitto broker. ``ANXIN_TEST_DATABASE_URL`` and ``ANXIN_TEST_MQTT_URL`` point elsewhere."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from anxin.db import with_database
from anxin.migrate import migrate
from tests.helpers import IngestHarness

SERVER_URL = os.environ.get(
    "ANXIN_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MQTT_URL = os.environ.get("ANXIN_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
# One template per test run: several runs (developers, CI) may share one server.
TEMPLATE = f"anxin_test_template_{os.getpid()}"
pytest_plugins = ["tests.fix_api", "tests.fix_storage_jobs"]


def _admin() -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(with_database(SERVER_URL, "postgres"), autocommit=True)


def _drop(name: str) -> None:
    with _admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _close_to_connections(name: str) -> None:
    """Make the template copyable: ``CREATE DATABASE … TEMPLATE`` fails while any session is
    connected to it, and TimescaleDB's job scheduler keeps one open in every database that has
    the extension (and starts it again on every copy, so stopping the workers or marking the
    database IS_TEMPLATE does not help). Refusing new connections and ending the present ones
    does; on plain PostgreSQL there is simply nobody to end."""
    with _admin() as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(sql.Identifier(name))
        )
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )


@pytest.fixture(scope="session")
def template_db() -> Iterator[str]:
    """Migrate once per run; each test then clones the result, which takes milliseconds."""
    _drop(TEMPLATE)
    migrate(with_database(SERVER_URL, TEMPLATE))
    _close_to_connections(TEMPLATE)
    yield TEMPLATE
    _drop(TEMPLATE)


@pytest.fixture
def db_url(template_db: str) -> Iterator[str]:
    name = f"anxin_test_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    yield with_database(SERVER_URL, name)
    _drop(name)


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(db_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def mqtt_url() -> str:
    return MQTT_URL


@pytest.fixture
def ingest(db_url: str, mqtt_url: str) -> Iterator[IngestHarness]:
    """An ingest worker on the real broker and a fresh database, with its own session."""
    harness = IngestHarness(db_url=db_url, mqtt_url=mqtt_url)
    harness.start()
    yield harness
    harness.close()
