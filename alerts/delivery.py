"""The delivery worker: drains the outbox (``alerts.outbox``) and sends each notification.

Each notification is leased (committed), sent, and its result committed on its own, so one
slow or failing receiver neither holds a transaction open nor delays the outcome of the
others. Run any number of workers against one database.

Channels:

- ``webhook``: an HTTP POST of the canonical JSON payload (sorted keys, no spaces, UTF-8) with
  ``X-Anxin-Signature: sha256=<hex HMAC-SHA256 of the body with the shared secret>``,
  ``X-Anxin-Idempotency-Key`` (the same on every retry, so a receiver can drop repeats) and
  ``Content-Type: application/json``. Any 2xx is delivered; redirects are not followed (a POST
  must not silently turn into a GET elsewhere). Sent with the standard library rather than
  Apprise: Apprise's ``json://`` cannot sign the body.
- ``email``: through Apprise, with the operator's SMTP server from ``smtp_url`` (an Apprise
  ``mailto://`` or ``mailtos://`` URL; ``to=`` is added per recipient).
- ``apprise``: DingTalk, WeCom, Feishu, SMS gateways and the rest, through Apprise with the
  recipient's own URL.

Messages for people carry the recipient's signed acknowledgement link (``ack_url``). A message
that gives up raises a ``delivery_failed`` operator alarm (``alerts.channel_health``); one that
gets through clears its target's. An idle worker waits on ``LISTEN anxin_outbox`` (a trigger
on ``notifications`` notifies it), so a new message leaves at once rather than at the next poll.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import apprise
import psycopg
from apprise.logger import NotifyLogEntry

from alerts.channel_health import report_delivered, report_gave_up
from alerts.escalation import Routing
from alerts.outbox import Notification, RetryPolicy, claim_due, mark_delivered, mark_failed
from anxin.db import WorkerConnection
from anxin.errors import AnxinError
from anxin.settings import Settings

logger = logging.getLogger(__name__)

_SEVERITY_NAMES = {1: "INFO", 2: "WARNING", 3: "ALARM", 4: "CRITICAL"}


@dataclass(frozen=True)
class DeliveryConfig:
    """What a worker needs. ``lease_s`` must outlast sending a whole claimed batch, or another
    worker would re-claim rows this one is still sending (harmless, thanks to the idempotency
    key, but a duplicate message to a person)."""

    database_url: str
    webhook_secret: str
    smtp_url: str = ""
    batch: int = 10
    poll_s: float = 0.5
    timeout_s: float = 5.0
    lease_s: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    routing: Routing = field(default_factory=Routing)

    def __post_init__(self) -> None:
        if not self.webhook_secret:
            raise ValueError("webhook_secret is empty: receivers could not verify webhooks")
        if self.lease_s <= self.batch * self.timeout_s * 2:
            raise ValueError("lease_s must exceed twice batch * timeout_s")


def config_from(settings: Settings, routing: Routing) -> DeliveryConfig:
    """A worker's configuration from the service settings; an empty webhook secret is refused
    with the variable to set."""
    if not settings.delivery_webhook_secret:
        raise AnxinError(
            "ANXIN_DELIVERY_WEBHOOK_SECRET is empty: set it to a shared secret "
            "(e.g. openssl rand -hex 32) so receivers can verify webhooks"
        )
    return DeliveryConfig(
        database_url=settings.database_url,
        webhook_secret=settings.delivery_webhook_secret,
        smtp_url=settings.delivery_smtp_url,
        batch=settings.delivery_batch,
        poll_s=settings.delivery_poll_s,
        routing=routing,
    )


def to_json_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent: canonical, so a receiver can re-serialise."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def message_text(payload: dict[str, Any]) -> tuple[str, str]:
    """Title and body for people (e-mail, IM): what, where, since when, which alarm."""
    alarm = payload["alarm"]
    severity = _SEVERITY_NAMES.get(alarm["severity"], str(alarm["severity"]))
    prefix = {"alarm.escalated": "UNANSWERED ", "alarm.reminder": "REMINDER "}.get(
        payload.get("event", ""), ""
    )
    title = f"[Anxin {prefix}{severity}] {alarm['title']}"
    lines = [
        alarm["title"],
        f"Site: {alarm['site']['name']} ({alarm['site']['uid']})",
        f"Kind: {alarm['kind']}, severity {severity}",
        f"Subject: {alarm['subject']['kind']} {alarm['subject']['id']}",
        f"Since: {alarm['first_seen_at']}",
        f"Alarm id: {alarm['id']}",
    ]
    if prefix:
        lines.insert(1, "Nobody has acknowledged this alarm yet.")
    if payload.get("ack_url"):
        lines.append(f"Acknowledge (I am handling it): {payload['ack_url']}")
    return title, "\n".join(lines)


class DeliveryWorker:
    """Claims due notifications, sends them and records the outcome."""

    def __init__(self, config: DeliveryConfig) -> None:
        self.config = config
        self._db = WorkerConnection(config.database_url)

    def close(self) -> None:
        self._db.close()

    def run_once(self) -> int:
        """Deliver one batch of due notifications; returns how many were attempted."""
        conn = self._db.get()
        claimed = claim_due(conn=conn, limit=self.config.batch, lease_s=self.config.lease_s)
        conn.commit()
        for notification in claimed:
            started = time.monotonic()
            error = self.send(notification)
            duration_ms = int((time.monotonic() - started) * 1000)
            if error is None:
                mark_delivered(conn=conn, notification=notification, duration_ms=duration_ms)
                report_delivered(conn=conn, notification=notification)
            else:
                logger.warning(
                    "notification %d (%s) attempt %d failed: %s",
                    notification.id,
                    notification.channel,
                    notification.attempts,
                    error,
                )
                state = mark_failed(
                    conn=conn,
                    notification=notification,
                    error=error,
                    duration_ms=duration_ms,
                    policy=self.config.retry,
                )
                if state == "gave_up":
                    report_gave_up(
                        conn=conn,
                        notification=notification,
                        error=error,
                        routing=self.config.routing,
                    )
            conn.commit()
        return len(claimed)

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set: a full batch is followed at once by the next, an idle
        worker waits for a new message (NOTIFY) or ``poll_s`` (retries fall due unannounced).
        A database outage is logged and retried, not fatal."""
        listener: psycopg.Connection[Any] | None = None
        while not stop.is_set():
            try:
                if listener is None or listener.closed or listener.broken:
                    listener = psycopg.connect(
                        self.config.database_url, autocommit=True, connect_timeout=5
                    )
                    listener.execute("LISTEN anxin_outbox")
                if self.run_once() < self.config.batch:
                    self._wait(listener, stop)
            except psycopg.Error:
                logger.exception("delivery worker: database error; retrying")
                self.close()
                if listener is not None:
                    listener.close()
                    listener = None
                stop.wait(self.config.poll_s)
        if listener is not None:
            listener.close()
        self.close()

    def _wait(self, listener: psycopg.Connection[Any], stop: threading.Event) -> None:
        """Until a new message is announced, ``poll_s`` passes or ``stop`` is set (checked
        every half second, so that shutdown stays prompt with a long poll)."""
        deadline = time.monotonic() + self.config.poll_s
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            for _ in listener.notifies(timeout=min(remaining, 0.5), stop_after=1):
                return

    def send(self, notification: Notification) -> str | None:
        """Send one notification; ``None`` on success, else why it failed."""
        try:
            if notification.channel == "webhook":
                return self._webhook(notification)
            if notification.channel == "email":
                if not self.config.smtp_url:
                    return "email channel but no smtp_url configured"
                joiner = "&" if "?" in self.config.smtp_url else "?"
                url = f"{self.config.smtp_url}{joiner}to={quote(notification.target, safe='@')}"
                return self._apprise(url, notification)
            if notification.channel == "apprise":
                return self._apprise(notification.target, notification)
        except Exception as exc:  # any failure of a channel is a failed attempt
            return f"{type(exc).__name__}: {exc}"
        return f"unknown channel {notification.channel!r}"

    def _webhook(self, notification: Notification) -> str | None:
        body = to_json_bytes(notification.payload)
        request = urllib.request.Request(
            notification.target,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Anxin-Signature": sign(body, self.config.webhook_secret),
                "X-Anxin-Idempotency-Key": notification.idempotency_key,
                "User-Agent": "anxin-delivery/1",
            },
        )
        try:
            with _OPENER.open(request, timeout=self.config.timeout_s) as response:
                status = int(response.status)
        except urllib.error.HTTPError as exc:
            return f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None if 200 <= status < 300 else f"HTTP {status}"

    def _apprise(self, url: str, notification: Notification) -> str | None:
        sender = apprise.Apprise()
        if not sender.add(url):
            return f"invalid Apprise URL for channel {notification.channel}"
        title, body = message_text(notification.payload)
        problems: list[str] = []

        def keep(entry: NotifyLogEntry, _plugin: object) -> None:
            if entry.level in ("WARNING", "ERROR", "CRITICAL"):
                problems.append(entry.message)

        result = sender.notify(
            body=body, title=title, timeout=self.config.timeout_s, log_callback=keep
        )
        if result:
            return None
        return f"Apprise: {result.status.name}" + (f": {problems[-1]}" if problems else "")
