"""What ``anxin deliver`` runs, as threads any process can host (the CLI, the demo, scenario
runs): a delivery worker draining the outbox and the escalation scheduler firing timers."""

from __future__ import annotations

import threading
from contextlib import ExitStack

from alerts.delivery import DeliveryWorker, config_from
from alerts.escalation import routing_from
from alerts.scheduler import EscalationScheduler, SchedulerConfig
from anxin.settings import Settings


def start_delivery(settings: Settings, stack: ExitStack) -> None:
    """Start both in threads that stop when ``stack`` closes. Both are built here, before any
    thread starts, so a configuration error (no webhook secret) stops the caller at once."""
    routing = routing_from(settings)
    worker = DeliveryWorker(config_from(settings, routing))
    scheduler = EscalationScheduler(
        SchedulerConfig(settings.database_url, routing, poll_s=settings.escalation_poll_s)
    )
    stop = threading.Event()
    threads = [
        threading.Thread(target=worker.run, args=(stop,), name="deliver", daemon=True),
        threading.Thread(target=scheduler.run, args=(stop,), name="escalate", daemon=True),
    ]
    for thread in threads:
        thread.start()

    def shut_down() -> None:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)

    stack.callback(shut_down)
