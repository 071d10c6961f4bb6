"""The platform's services in one process, for the demo and the end-to-end scenario tests."""

from __future__ import annotations

import logging
from contextlib import ExitStack

from alerts.fall_flow import FallScorer
from alerts.service import AlertsService
from anxin.migrate import migrate, storage_options
from anxin.settings import Settings
from ingest.service import IngestService

logger = logging.getLogger(__name__)


def build_alerts(settings: Settings) -> AlertsService:
    """The alerts service with the shipped rules, the configured lateness and the fall model."""
    from alerts.fall_scoring import ShippedFallScorer
    from alerts.rules import RuleConfig, RuleEngine

    fall: FallScorer = ShippedFallScorer.load()
    rules = RuleConfig(sos_late_after_s=settings.alerts_late_after_s)
    return AlertsService(settings, RuleEngine(rules), fall)


class Platform:
    """ingest + alerts against the configured database and broker."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stack = ExitStack()
        self.ingest: IngestService | None = None
        self.alerts: AlertsService | None = None

    def start(self) -> None:
        migrate(self.settings.database_url, storage_options(self.settings))
        self.ingest = IngestService(self.settings)
        self.ingest.start()
        self._stack.callback(self.ingest.stop)
        self.alerts = build_alerts(self.settings)
        self.alerts.start()
        self._stack.callback(self.alerts.stop)

    def stop(self) -> None:
        self._stack.close()
