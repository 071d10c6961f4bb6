"""Which storage path the schema takes: TimescaleDB or plain PostgreSQL (``ANXIN_STORAGE``).

The choice is made once, before the first migration, from the setting and from what the server can
really do; after that the schema itself is the record (hypertables or plain tables), because the
two paths cannot be swapped without moving the data (docs/operations.md). ``auto`` never falls back
to plain tables when TimescaleDB is installed but unusable: a deployment that silently started on
plain tables would need a migration to become hypertables later.

``anxin.migrate`` hands the choice to the migration files through the session setting
``anxin.storage`` of yoyo's connections; a migration run outside Anxin (plain yoyo) resolves it
with ``auto``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import psycopg

from anxin.errors import StorageUnavailable

Conn = psycopg.Connection[Any]

SESSION_SETTING = "anxin.storage"
PRELOAD_LINE = "shared_preload_libraries = 'timescaledb'"


class StorageMode(StrEnum):
    """Values of ``ANXIN_STORAGE``."""

    AUTO = "auto"
    TIMESCALEDB = "timescaledb"
    POSTGRESQL = "postgresql"


class StoragePath(StrEnum):
    """The path a schema is on."""

    TIMESCALEDB = "timescaledb"
    POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class TimescaleProbe:
    """What the server says about TimescaleDB.

    ``preloaded`` is None when this role may not read ``shared_preload_libraries`` (it is
    superuser-only); creating the extension then tells.
    """

    installed: str | None
    available: str | None
    preloaded: bool | None


@dataclass(frozen=True)
class StorageChoice:
    """The path in use and the reason, as the start-up log and ``anxin db status`` show it."""

    path: StoragePath
    reason: str


def installed_version(conn: Conn) -> str | None:
    """The TimescaleDB version installed in this database, if any."""
    row = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    return str(row[0]) if row else None


def probe_timescale(conn: Conn) -> TimescaleProbe:
    """Installed in this database, available on the server, preloaded by the postmaster."""
    available = conn.execute(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    return TimescaleProbe(
        installed=installed_version(conn),
        available=str(available[0]) if available else None,
        preloaded=_preloaded(conn),
    )


def _preloaded(conn: Conn) -> bool | None:
    try:
        with conn.transaction():
            row = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    except psycopg.errors.InsufficientPrivilege:
        return None
    libraries = str(row[0]) if row else ""
    return "timescaledb" in (name.strip().strip('"') for name in libraries.split(","))


def schema_path(conn: Conn) -> StoragePath | None:
    """The path the readings tables were created on; None before the first migration."""
    if conn.execute("SELECT to_regclass('reading_vitals')").fetchone() == (None,):
        return None
    if installed_version(conn):
        hypertable = conn.execute(
            """SELECT 1 FROM timescaledb_information.hypertables
               WHERE hypertable_name = 'reading_vitals'"""
        ).fetchone()
        if hypertable:
            return StoragePath.TIMESCALEDB
    return StoragePath.POSTGRESQL


def not_preloaded_message(version: str | None) -> str:
    """What to do when the package is installed but the library is not loaded at start-up."""
    return (
        f"TimescaleDB {version or ''} is installed on this PostgreSQL server but not preloaded, "
        f"so the extension cannot be created. Add {PRELOAD_LINE} to postgresql.conf (keep any "
        "libraries already listed there) and restart PostgreSQL, or set "
        "ANXIN_STORAGE=postgresql to use plain tables (moving onto TimescaleDB later: "
        "docs/operations.md)."
    )


def choose_storage(conn: Conn, mode: StorageMode) -> StorageChoice:
    """Resolve ``ANXIN_STORAGE`` against this database and server, or raise
    ``StorageUnavailable`` with what to change."""
    existing = schema_path(conn)
    if existing is not None:
        return _keep_existing(existing, mode)
    if mode is StorageMode.POSTGRESQL:
        return StorageChoice(StoragePath.POSTGRESQL, "ANXIN_STORAGE=postgresql")
    probe = probe_timescale(conn)
    if probe.installed:
        return StorageChoice(
            StoragePath.TIMESCALEDB,
            f"ANXIN_STORAGE={mode}: TimescaleDB {probe.installed} is installed in this database",
        )
    if probe.available is None:
        if mode is StorageMode.TIMESCALEDB:
            raise StorageUnavailable(
                "ANXIN_STORAGE=timescaledb but this PostgreSQL server has no TimescaleDB package "
                "(install it, e.g. the timescale/timescaledb image, or set "
                "ANXIN_STORAGE=postgresql)"
            )
        return StorageChoice(
            StoragePath.POSTGRESQL, "ANXIN_STORAGE=auto: TimescaleDB is not installed on the server"
        )
    if probe.preloaded is False:
        raise StorageUnavailable(not_preloaded_message(probe.available))
    return StorageChoice(
        StoragePath.TIMESCALEDB,
        f"ANXIN_STORAGE={mode}: TimescaleDB {probe.available} is installed and preloaded",
    )


def _keep_existing(existing: StoragePath, mode: StorageMode) -> StorageChoice:
    """A migrated database stays on its path; a setting that asks for the other one stops."""
    if mode.value not in (StorageMode.AUTO.value, existing.value):
        raise StorageUnavailable(
            f"ANXIN_STORAGE={mode} but this database's readings are on the {existing} path; the "
            "setting does not convert existing tables (docs/operations.md, 'Moving a plain "
            f"deployment onto TimescaleDB'), or set ANXIN_STORAGE={existing} or auto"
        )
    return StorageChoice(existing, f"the database's readings are already on the {existing} path")


def create_extension(conn: Conn) -> None:
    """``CREATE EXTENSION timescaledb``, turning "must be preloaded" into what to do about it."""
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:
        if "preload" in str(exc):
            raise StorageUnavailable(not_preloaded_message(None)) from None
        raise


def uses_timescale(conn: Conn) -> bool:
    """For migration files: the announced path, else ``auto`` (TimescaleDB created if chosen)."""
    row = conn.execute("SELECT current_setting(%s, true)", (SESSION_SETTING,)).fetchone()
    announced = str(row[0]) if row and row[0] else ""
    if announced:
        return announced == StoragePath.TIMESCALEDB.value
    choice = choose_storage(conn, StorageMode.AUTO)
    if choice.path is StoragePath.TIMESCALEDB:
        create_extension(conn)
    return choice.path is StoragePath.TIMESCALEDB


@dataclass(frozen=True)
class StorageOptions:
    """What migrations need from the settings: the path asked for and how late a device may
    upload (the continuous aggregates must refresh that far back)."""

    mode: StorageMode = StorageMode.AUTO
    late_upload_s: int = 86400
