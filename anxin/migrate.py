"""Schema migrations with yoyo: ordered, dated files in ``anxin/migrations``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from yoyo import get_backend, read_migrations

from anxin.aggregate_window import align_refresh_window
from anxin.db import StorageBackend, as_url, connect, detect_backend, ensure_database_exists
from anxin.settings import Settings
from anxin.storage import (
    SESSION_SETTING,
    StorageChoice,
    StorageOptions,
    StoragePath,
    choose_storage,
    create_extension,
)

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class MigrationReport:
    applied: list[str]
    backend: StorageBackend
    choice: StorageChoice


def storage_options(settings: Settings) -> StorageOptions:
    """The storage path asked for and how late ingest accepts a reading."""
    return StorageOptions(mode=settings.storage, late_upload_s=settings.ingest_max_clock_skew_s)


def _yoyo_url(url: str, path: StoragePath) -> str:
    """yoyo picks its driver from the scheme; ours is psycopg 3. yoyo runs each migration on a
    connection of its own, so the chosen path travels in the URL, as the session setting
    ``anxin.storage`` (libpq's ``options``) every one of those connections starts with."""
    parts = urlsplit(as_url(url))
    scheme = "postgresql+psycopg" if parts.scheme in ("postgresql", "postgres") else parts.scheme
    query = dict(parse_qsl(parts.query))
    setting = f"-c {SESSION_SETTING}={path.value}"
    query["options"] = f"{query['options']} {setting}" if query.get("options") else setting
    return urlunsplit(parts._replace(scheme=scheme, query=urlencode(query, quote_via=quote)))


def migrate(url: str, options: StorageOptions | None = None) -> MigrationReport:
    """Create the database if needed, choose the storage path (``anxin.storage``), apply every
    pending migration under yoyo's lock, then fit the aggregates' refresh window to the late
    uploads ingest accepts. Raises ``StorageUnavailable`` before touching the schema when the
    path asked for cannot be had."""
    options = options or StorageOptions()
    ensure_database_exists(url)
    with connect(url, autocommit=True) as conn:
        choice = choose_storage(conn, options.mode)
        if choice.path is StoragePath.TIMESCALEDB:
            create_extension(conn)
    backend = get_backend(_yoyo_url(url, choice.path))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    try:
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
    finally:
        backend.connection.close()
    with connect(url, autocommit=True) as conn:
        storage = detect_backend(conn)
        if storage.is_timescale:
            align_refresh_window(conn=conn, late_upload_s=options.late_upload_s)
    applied = [m.id for m in pending]
    logger.info(
        "migrations applied: %s; storage: %s (why: %s)",
        applied or "none",
        storage.describe(),
        choice.reason,
    )
    return MigrationReport(applied=applied, backend=storage, choice=choice)
