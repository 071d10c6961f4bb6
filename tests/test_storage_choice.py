"""``ANXIN_STORAGE``: TimescaleDB only when it can really be created, never a silent fallback."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from anxin.cli import app as cli_app
from anxin.db import detect_backend, with_database
from anxin.errors import StorageUnavailable
from anxin.localservers import PrivatePostgres
from anxin.migrate import migrate
from anxin.storage import (
    StorageMode,
    StorageOptions,
    StoragePath,
    choose_storage,
    probe_timescale,
)
from tests.conftest import SERVER_URL
from tests.timescale_standin import STANDIN_VERSION, build_standin_installation


@pytest.fixture
def empty_db_url() -> Iterator[str]:
    """A database with no schema yet: the choice is made before the first migration."""
    name = f"anxin_test_empty_{uuid.uuid4().hex[:12]}"
    admin = with_database(SERVER_URL, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield with_database(SERVER_URL, name)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def standin_server() -> Iterator[PrivatePostgres]:
    """A private cluster on which TimescaleDB is available but not preloaded (see
    tests/timescale_standin.py for why a stand-in control file and where it lives)."""
    root = Path(tempfile.mkdtemp(prefix="anxin-standin-"))
    root.chmod(0o755)  # run as root, the tests start PostgreSQL as postgres, who must reach both
    try:
        pg = PrivatePostgres(root / "cluster", bin_dir=build_standin_installation(root / "install"))
        pg.init()
        pg.start()
        try:
            yield pg
        finally:
            pg.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _without_timescale(conn: psycopg.Connection) -> None:
    if probe_timescale(conn).available:
        pytest.skip("this server has TimescaleDB; the stand-in cluster tests the other cases")


def test_auto_takes_plain_tables_where_the_server_has_no_timescaledb(empty_db_url):
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        _without_timescale(conn)
    report = migrate(empty_db_url)
    assert not report.backend.is_timescale
    assert report.choice.path is StoragePath.POSTGRESQL
    assert "not installed" in report.choice.reason


def test_timescaledb_refuses_a_server_without_it_before_touching_the_schema(empty_db_url):
    with psycopg.connect(empty_db_url, autocommit=True) as conn:
        _without_timescale(conn)
    with pytest.raises(StorageUnavailable, match="no TimescaleDB package"):
        migrate(empty_db_url, StorageOptions(mode=StorageMode.TIMESCALEDB))
    with psycopg.connect(empty_db_url) as conn:
        assert conn.execute("SELECT to_regclass('retention_policy')").fetchone() == (None,)


def test_a_migrated_database_keeps_its_path_whatever_the_setting_asks(conn):
    existing = detect_backend(conn)
    other = StorageMode.POSTGRESQL if existing.is_timescale else StorageMode.TIMESCALEDB
    with pytest.raises(StorageUnavailable, match="does not convert existing tables"):
        choose_storage(conn, other)
    assert "already on the" in choose_storage(conn, StorageMode.AUTO).reason


def test_available_but_not_preloaded_stops_with_what_to_do(standin_server):
    with pytest.raises(StorageUnavailable) as stopped:
        migrate(standin_server.url)
    message = str(stopped.value)
    assert "shared_preload_libraries = 'timescaledb'" in message
    assert "ANXIN_STORAGE=postgresql" in message
    assert STANDIN_VERSION in message
    with pytest.raises(StorageUnavailable, match="not preloaded"):
        migrate(standin_server.url, StorageOptions(mode=StorageMode.TIMESCALEDB))
    with psycopg.connect(standin_server.url) as conn:
        assert conn.execute("SELECT to_regclass('reading_vitals')").fetchone() == (None,)


def test_postgresql_forces_plain_tables_where_timescaledb_is_available(standin_server):
    report = migrate(standin_server.url, StorageOptions(mode=StorageMode.POSTGRESQL))
    assert report.choice.reason == "ANXIN_STORAGE=postgresql"
    with psycopg.connect(standin_server.url) as conn:
        assert probe_timescale(conn).available == STANDIN_VERSION
        assert not detect_backend(conn).is_timescale
        kind = conn.execute("SELECT relkind::text FROM pg_class WHERE relname = 'vitals_hourly'")
        assert kind.fetchone() == ("v",)
    assert migrate(standin_server.url).applied == []  # auto follows the schema from now on


def test_db_status_says_which_path_and_why(db_url, monkeypatch):
    monkeypatch.setenv("ANXIN_DATABASE_URL", db_url)
    result = CliRunner().invoke(cli_app, ["db", "status"])
    assert result.exit_code == 0, result.output
    assert "storage:" in result.output
    assert "why: the database's readings are already on the" in result.output
