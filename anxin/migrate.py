"""Schema migrations with yoyo: ordered, dated files in ``anxin/migrations``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from yoyo import get_backend, read_migrations

from anxin.db import StorageBackend, as_url, connect, detect_backend, ensure_database_exists

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class MigrationReport:
    applied: list[str]
    backend: StorageBackend


def _yoyo_url(url: str) -> str:
    """yoyo picks its driver from the scheme; ours is psycopg 3."""
    url = as_url(url)
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def migrate(url: str) -> MigrationReport:
    """Create the database if needed and apply every pending migration, under yoyo's lock."""
    ensure_database_exists(url)
    backend = get_backend(_yoyo_url(url))
    migrations = read_migrations(str(MIGRATIONS_DIR))
    try:
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
    finally:
        backend.connection.close()
    with connect(url) as conn:
        storage = detect_backend(conn)
    applied = [m.id for m in pending]
    logger.info("migrations applied: %s; storage: %s", applied or "none", storage.describe())
    return MigrationReport(applied=applied, backend=storage)
