"""One typed settings object for every Anxin service, read from ``ANXIN_*`` variables.

Built once at start-up by the CLI and passed down; nothing reads the environment at import time.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from anxin.storage import StorageMode


@dataclass(frozen=True)
class MqttEndpoint:
    """A broker address split out of ``ANXIN_MQTT_URL`` (``mqtt://user:pass@host:port``)."""

    host: str
    port: int
    username: str | None
    password: str | None


def parse_mqtt_url(url: str) -> MqttEndpoint:
    """Split an ``mqtt://`` URL; the scheme is checked so that a typo is not silently ignored."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp"):
        raise ValueError(f"ANXIN_MQTT_URL must start with mqtt:// (got {url!r})")
    if not parts.hostname:
        raise ValueError(f"ANXIN_MQTT_URL has no host (got {url!r})")
    return MqttEndpoint(
        host=parts.hostname,
        port=parts.port or 1883,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class Settings(BaseSettings):
    """Configuration of every service; each field is one ``ANXIN_<NAME>`` variable."""

    model_config = SettingsConfigDict(env_prefix="ANXIN_", extra="forbid", env_file=None)

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/anxin",
        description="PostgreSQL/TimescaleDB connection string (libpq URL).",
    )
    storage: StorageMode = Field(
        StorageMode.AUTO,
        description="Storage path: auto (TimescaleDB when it can really be created, plain "
        "PostgreSQL when the server has no TimescaleDB; stops when it is installed but not "
        "preloaded), timescaledb (refuses to start without it) or postgresql (plain tables).",
    )
    storage_job_check_s: float = Field(
        300,
        gt=0,
        description="How often the alerts worker reads TimescaleDB's job statistics "
        "(gauge anxin_storage_jobs_failing).",
    )
    storage_job_failures_alarm: int = Field(
        3,
        ge=1,
        description="Failed runs in a row (since its last success) after which a TimescaleDB "
        "job raises a storage_job_failing operator alarm.",
    )
    operator_site: str = Field(
        "",
        description="uid of the site that holds platform-wide operator alarms (a failing "
        "storage job); its managers are told with the operator. Empty: the oldest site.",
    )
    mqtt_url: str = Field(
        "mqtt://127.0.0.1:1883", description="Broker URL: mqtt://user:pass@host:port."
    )
    log_level: str = Field("INFO", description="Python logging level.")

    ingest_client_id: str = Field(
        default_factory=lambda: f"anxin-ingest-{socket.gethostname()}",
        description="MQTT client id of this ingest worker; keep it stable across restarts so "
        "the broker redelivers what was not yet acknowledged.",
    )
    ingest_share_group: str = Field(
        "",
        description="MQTT v5 shared-subscription group for running several ingest workers; "
        "empty: one worker with a plain subscription (Mosquitto 2.0.11 loses messages sent to a "
        "shared group across a broker restart: see docs/operations.md).",
    )
    ingest_batch_rows: int = Field(5000, ge=1, description="Rows that trigger a flush.")
    ingest_batch_wait_ms: int = Field(
        50, ge=1, le=1000, description="Longest time a reading waits for its batch to fill."
    )
    ingest_receive_maximum: int = Field(
        20000,
        ge=10,
        le=65535,
        description="MQTT v5 Receive Maximum: unacknowledged messages the broker may have in "
        "flight to this worker; it is the back-pressure when the database is slow or down.",
    )
    ingest_max_payload_bytes: int = Field(
        256 * 1024, ge=1024, description="Larger payloads are dead-lettered unread."
    )
    ingest_max_clock_skew_s: int = Field(
        86400,
        ge=1,
        description="Readings whose device time is further off are dead-lettered (and ignored "
        "by detection, which applies the same wire checks).",
    )
    ingest_metrics_port: int = Field(
        9101, ge=0, le=65535, description="Prometheus metrics port for ingest (0: off)."
    )
    ingest_device_refresh_s: float = Field(
        10.0,
        gt=0,
        description="Ingest and detection re-read the device registry at most this often "
        "(sooner only when a device was registered since): a device activated or changed is "
        "seen within this interval.",
    )

    alerts_client_id: str = Field(
        default_factory=lambda: f"anxin-alerts-{socket.gethostname()}",
        description="MQTT client id of the alerts worker (its own session: detection never "
        "waits for storage).",
    )
    alerts_batch_wait_ms: int = Field(
        10, ge=1, le=1000, description="Longest wait of a reading before detection runs."
    )
    alerts_tick_s: float = Field(
        0.5, gt=0, le=10, description="Period of the time-based rules (offline, CO dose, …)."
    )
    alerts_late_after_s: float = Field(
        600,
        gt=0,
        description="An SOS that arrives this long after it was pressed (but within "
        "ingest_max_clock_skew_s) raises an alarm marked late with its own time.",
    )
    fall_export_key: str = Field(
        "",
        description="Key of the pseudonyms that stand for residents in 'anxin fall export'; keep "
        "it secret and stable so a person keeps one subject id across exports (empty: a fresh "
        "key per export).",
    )
    fall_ask_below_logit: float = Field(
        2.0,
        ge=0,
        le=20,
        description="A fall score this far below the model's threshold (log-odds) still asks "
        "the wearer 'are you OK?' instead of being ignored; 0: nothing below the threshold asks.",
    )
    fall_ask_above_logit: float = Field(
        2.0,
        ge=0,
        le=20,
        description="A fall score less than this far above the threshold (log-odds) asks the "
        "wearer before the fall alarm; above it the alarm is raised at once. 0 and 0: never ask.",
    )
    fall_ask_timeout_s: int = Field(
        30,
        ge=5,
        le=300,
        description="How long the bracelet waits for 'I'm OK' or 'help'; no answer raises the "
        "fall alarm.",
    )
    alerts_metrics_port: int = Field(
        9102, ge=0, le=65535, description="Prometheus metrics port for alerts (0: off)."
    )

    delivery_webhook_secret: str = Field(
        "",
        description="Shared HMAC-SHA256 secret that signs outgoing webhooks (X-Anxin-Signature).",
    )
    delivery_smtp_url: str = Field(
        "",
        description="Apprise e-mail URL of the operator's SMTP server, e.g. "
        "mailtos://user:pass@smtp.example.org?from=anxin@example.org.",
    )
    delivery_operator_channels: list[str | dict[str, str]] = Field(
        default_factory=list,
        description="JSON list of channels (format: alerts/outbox.py) told when no duty staff "
        "is reachable.",
    )
    delivery_batch: int = Field(10, ge=1, le=100, description="Notifications claimed per round.")
    delivery_poll_s: float = Field(0.5, gt=0, le=10, description="Idle wait between outbox polls.")
    escalation_poll_s: float = Field(
        0.25, gt=0, le=1, description="Longest wait of the escalation scheduler between rounds."
    )
    public_url: str = Field(
        "",
        description="Public base URL of the API, e.g. https://anxin.example.org; messages link "
        "to {public_url}/ack/{token}. Empty: messages carry no acknowledgement link.",
    )
    ack_secret: str = Field(
        "",
        description="Key (at least 32 bytes) that signs acknowledgement links; not the webhook "
        "secret, which receivers know. Empty: messages carry no acknowledgement link.",
    )
    ack_link_ttl_s: int = Field(
        86400, ge=60, description="How long an acknowledgement link in a message stays valid."
    )

    api_host: str = Field("127.0.0.1", description="Address the API listens on.")
    api_port: int = Field(8000, ge=1, le=65535, description="Port the API listens on.")
    api_secret: str = Field(
        "",
        description="Key that signs API tokens and session cookies; at least 32 characters, "
        "required by 'anxin api'.",
    )
    api_token_ttl_s: int = Field(
        8 * 3600, ge=60, description="Lifetime of an access token and of a console session."
    )
    api_cookie_secure: bool = Field(
        True, description="Mark the session cookie Secure (sent over HTTPS only)."
    )
    api_stream_poll_s: float = Field(
        5.0,
        gt=0,
        le=60,
        description="Live streams re-query at least this often, so a lost notification only "
        "delays an event.",
    )

    grafana_url: str = Field(
        "http://127.0.0.1:3000", description="Grafana that 'anxin dashboards provision' sets up."
    )
    grafana_token: str = Field(
        "", description="Grafana service-account token (Admin role); else user and password."
    )
    grafana_user: str = Field("admin", description="Grafana user when no token is set.")
    grafana_password: str = Field("", description="That Grafana user's password.")
    grafana_database_url: str = Field(
        "",
        description="The database as Grafana reaches it (host, port, read-only role); empty: "
        "ANXIN_DATABASE_URL.",
    )

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url_parses(cls, value: str) -> str:
        parse_mqtt_url(value)
        return value

    @field_validator("ack_secret")
    @classmethod
    def _ack_secret_long_enough(cls, value: str) -> str:
        if value and len(value.encode()) < 32:
            raise ValueError("must be at least 32 bytes (e.g. the output of openssl rand -hex 32)")
        return value

    @property
    def mqtt(self) -> MqttEndpoint:
        """The broker endpoint parsed from ``mqtt_url``."""
        return parse_mqtt_url(self.mqtt_url)
