"""Set up a Grafana through its HTTP API: the Anxin data source, folder and dashboards.

Idempotent: every object is found by its fixed uid, created when missing and updated in place
when present, so a second run creates nothing. A dashboard is saved only when it differs from
what Grafana holds, so repeated runs do not pile up dashboard versions. Objects that Grafana
provisions from files (the docker-compose set-up, ``dashboards/provisioning/``) are read-only
through the API; they are reported and left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from grafana_client.api import GrafanaApi
from grafana_client.client import (
    GrafanaClientError,
    GrafanaException,
    GrafanaTimeoutError,
    GrafanaUnauthorizedError,
)
from psycopg.conninfo import conninfo_to_dict

from anxin.errors import AnxinError
from dashboards.catalog import FOLDER_TITLE, FOLDER_UID
from dashboards.model import DATASOURCE, DATASOURCE_UID, Dashboard

TIMEOUT_S = 10.0

T = TypeVar("T")


class GrafanaError(AnxinError):
    """Grafana could not be reached, refused the credentials, or refused a change."""


@dataclass(frozen=True)
class DataSourceSpec:
    """The PostgreSQL data source as Grafana will use it."""

    address: str
    database: str
    user: str
    password: str
    sslmode: str
    timescaledb: bool
    postgres_version: int

    @classmethod
    def from_url(cls, url: str, *, timescaledb: bool, server_version: str) -> DataSourceSpec:
        """From a libpq URL; Grafana knows only libpq's disable/require/verify-* SSL modes."""
        params = conninfo_to_dict(url)
        sslmode = str(params.get("sslmode", "disable"))
        major = int(server_version.split(".")[0]) if server_version[:1].isdigit() else 15
        return cls(
            address=f"{params.get('host', 'localhost')}:{params.get('port', 5432)}",
            database=str(params.get("dbname", "anxin")),
            user=str(params.get("user", "postgres")),
            password=str(params.get("password", "")),
            sslmode=sslmode if sslmode in ("require", "verify-ca", "verify-full") else "disable",
            timescaledb=timescaledb,
            postgres_version=major * 100,
        )

    @property
    def name(self) -> str:
        """As docker compose names it on TimescaleDB; on plain PostgreSQL, say so."""
        return "Anxin TimescaleDB" if self.timescaledb else "Anxin PostgreSQL"

    def payload(self) -> dict[str, Any]:
        """The body of Grafana's data source create and update calls."""
        return {
            "name": self.name,
            "uid": DATASOURCE_UID,
            "type": DATASOURCE["type"],
            "access": "proxy",
            "url": self.address,
            "user": self.user,
            "isDefault": False,
            "jsonData": {
                "database": self.database,
                "sslmode": self.sslmode,
                "postgresVersion": self.postgres_version,
                "timescaledb": self.timescaledb,
                "maxOpenConns": 10,
                "maxIdleConns": 10,
                "maxIdleConnsAuto": True,
                "connMaxLifetime": 14400,
            },
            "secureJsonData": {"password": self.password},
        }


@dataclass(frozen=True)
class Outcome:
    """What provisioning did with one object: created, updated, unchanged or left alone."""

    kind: str
    title: str
    action: str


def connect(url: str, *, token: str, user: str, password: str) -> GrafanaApi:
    """A client for ``url`` with a token, else user and password (else those in the URL)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise GrafanaError(
            f"ANXIN_GRAFANA_URL must be an http(s) URL such as http://127.0.0.1:3000 (got {url!r})"
        )
    credential: str | tuple[str, str] | None = token or ((user, password) if password else None)
    if credential is None and not parts.password:
        raise GrafanaError(
            "no Grafana credentials: set ANXIN_GRAFANA_TOKEN (or --token) to a service-account "
            "token with the Admin role, or ANXIN_GRAFANA_PASSWORD for ANXIN_GRAFANA_USER"
        )
    api: GrafanaApi = GrafanaApi.from_url(url, credential=credential, timeout=TIMEOUT_S)
    return api


def shown(url: str) -> str:
    """The URL without a user and password in it, for messages."""
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    return urlunsplit(parts._replace(netloc=host)) if parts.password else url


def check_health(api: GrafanaApi, *, url: str) -> str:
    """Grafana's version, from its public health endpoint: is it there, and is it Grafana?"""
    health = _Calls(api, url).call("checking its health", lambda: api.client.GET("/health"))
    if not isinstance(health, dict) or "database" not in health:
        raise GrafanaError(
            f"{shown(url)} does not answer like Grafana (GET /api/health): check ANXIN_GRAFANA_URL "
            "(or --grafana-url), including any sub-path Grafana is served under"
        )
    return str(health.get("version", "?"))


def provision(
    api: GrafanaApi,
    *,
    url: str,
    datasource: DataSourceSpec,
    dashboards: Sequence[Dashboard],
    on_step: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome]:
    """Set up data source, folder and dashboards, in that order (each needs the one before)."""
    grafana = _Calls(api, url)
    outcomes = [_datasource(grafana, datasource)]
    on_step(outcomes[-1])
    outcomes.append(_folder(grafana))
    on_step(outcomes[-1])
    for dashboard in dashboards:
        outcomes.append(_dashboard(grafana, dashboard))
        on_step(outcomes[-1])
    return outcomes


def _datasource(grafana: _Calls, spec: DataSourceSpec) -> Outcome:
    api = grafana.api
    what = f"reading data source {DATASOURCE_UID}"
    current = grafana.find(what, lambda: api.datasource.get_datasource_by_uid(DATASOURCE_UID))
    if current is None:
        grafana.call(
            f"creating data source {spec.name!r}",
            lambda: api.datasource.create_datasource(spec.payload()),
        )
        return Outcome("data source", spec.name, "created")
    if current.get("readOnly"):
        return Outcome("data source", str(current.get("name")), "provisioned from files, kept")
    grafana.call(
        f"updating data source {DATASOURCE_UID}",
        lambda: api.datasource.update_datasource_by_uid(DATASOURCE_UID, spec.payload()),
    )
    return Outcome("data source", spec.name, "updated")


def _folder(grafana: _Calls) -> Outcome:
    api = grafana.api
    current = grafana.find(
        f"reading folder {FOLDER_UID}", lambda: api.folder.get_folder(FOLDER_UID)
    )
    if current is None:
        grafana.call(
            f"creating folder {FOLDER_TITLE!r}",
            lambda: api.folder.create_folder(FOLDER_TITLE, uid=FOLDER_UID),
        )
        return Outcome("folder", FOLDER_TITLE, "created")
    if current.get("title") == FOLDER_TITLE:
        return Outcome("folder", FOLDER_TITLE, "unchanged")
    grafana.call(
        f"renaming folder {FOLDER_UID}",
        lambda: api.folder.update_folder(FOLDER_UID, title=FOLDER_TITLE, overwrite=True),
    )
    return Outcome("folder", FOLDER_TITLE, "updated")


# Grafana adds these to a saved dashboard; the rest is stored as sent.
_ASSIGNED = ("id", "version")


def _dashboard(grafana: _Calls, dashboard: Dashboard) -> Outcome:
    api = grafana.api
    desired = dashboard.to_json()
    current = grafana.find(
        f"reading dashboard {dashboard.uid}", lambda: api.dashboard.get_dashboard(dashboard.uid)
    )
    if current is not None:
        meta = current.get("meta", {})
        if meta.get("provisioned"):
            return Outcome("dashboard", dashboard.title, "provisioned from files, kept")
        stored = {k: v for k, v in current.get("dashboard", {}).items() if k not in _ASSIGNED}
        if stored == desired and meta.get("folderUid") == FOLDER_UID:
            return Outcome("dashboard", dashboard.title, "unchanged")
    grafana.call(
        f"saving dashboard {dashboard.uid}",
        lambda: api.dashboard.update_dashboard(
            {
                "dashboard": {**desired, "id": None},
                "folderUid": FOLDER_UID,
                "overwrite": True,
                "message": "anxin dashboards provision",
            }
        ),
    )
    return Outcome("dashboard", dashboard.title, "created" if current is None else "updated")


class _Calls:
    """Grafana calls whose failures become one clear message that says what to do next."""

    def __init__(self, api: GrafanaApi, url: str) -> None:
        self.api = api
        self.url = url

    def find(self, what: str, call: Callable[[], Any]) -> dict[str, Any] | None:
        """The object, or None when Grafana answers 404."""
        try:
            found = call()
        except GrafanaClientError as exc:
            if exc.status_code == 404:
                return None
            raise self._error(what, exc) from None
        except (GrafanaException, OSError, ValueError) as exc:
            raise self._error(what, exc) from None
        return found if isinstance(found, dict) else None

    def call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except (GrafanaException, OSError, ValueError) as exc:
            raise self._error(what, exc) from None

    def _error(self, what: str, exc: Exception) -> GrafanaError:
        where = f"Grafana at {shown(self.url)}"
        if isinstance(exc, GrafanaUnauthorizedError):
            return GrafanaError(
                f"{where} refused the credentials while {what} (401). Set ANXIN_GRAFANA_TOKEN "
                "(or --token) to a service-account token with the Admin role, or "
                "ANXIN_GRAFANA_USER (or --user) and ANXIN_GRAFANA_PASSWORD."
            )
        if isinstance(exc, GrafanaClientError) and exc.status_code == 403:
            return GrafanaError(
                f"{where} did not allow {what} (403: {exc.message}). The account needs the "
                "Admin role in its organisation: data sources and folders require it."
            )
        if isinstance(exc, GrafanaClientError) and exc.status_code == 409:
            return GrafanaError(
                f"{where} refused {what} (409: {exc.message}): another object already has "
                "that name. Rename or delete it in Grafana (Anxin's data source has the uid "
                f"{DATASOURCE_UID!r}, its folder the uid {FOLDER_UID!r}), then run this again."
            )
        if isinstance(exc, GrafanaTimeoutError | OSError) or (
            isinstance(exc, GrafanaException) and exc.status_code == 0
        ):
            return GrafanaError(
                f"{where} is not reachable ({_reason(exc)}). Start it (docker compose up -d "
                "grafana) or point ANXIN_GRAFANA_URL (or --grafana-url) at it."
            )
        if isinstance(exc, GrafanaException):
            return GrafanaError(f"{where} answered {exc.status_code} while {what}: {exc.message}")
        return GrafanaError(
            f"{where} sent an answer that is not Grafana's API while {what} ({exc}); check "
            "ANXIN_GRAFANA_URL (or --grafana-url)."
        )


def _reason(exc: Exception) -> str:
    """The operating system's words (``[Errno 111] Connection refused``), not the HTTP stack's
    nested wrappers; a timeout says so."""
    if isinstance(exc, GrafanaTimeoutError):
        return f"no answer within {TIMEOUT_S:g} s"
    text = str(exc)
    if unresolved := re.search(r"Failed to resolve '([^']+)'", text):
        return f"no such host name: {unresolved.group(1)}"
    found = re.search(r"\[Errno -?\d+\][^'\")]*", text)
    return found.group(0).strip() if found else type(exc).__name__
