"""What ``anxin demo`` runs beside ingest and alerts so that the console shows live alarms: the
API and console, a delivery worker with its escalation scheduler, and one login per role.

Everything runs in threads of the demo process and stops with it. Secrets the demo needs but
the user did not set are generated for this run only (a demo is not a deployment)."""

from __future__ import annotations

import secrets
import socket
import threading
from contextlib import ExitStack
from dataclasses import dataclass

import uvicorn

from alerts.workers import start_delivery
from anxin.db import connect
from anxin.errors import AnxinError
from anxin.settings import Settings

DEMO_PASSWORD = "anxin-demo-2026"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    sees: str


def demo_settings(settings: Settings) -> Settings:
    """Fill in the secrets and URLs left empty, for a console on plain local HTTP."""
    updates: dict[str, object] = {"api_cookie_secure": False}
    if not settings.api_secret:
        updates["api_secret"] = secrets.token_urlsafe(32)
    if not settings.ack_secret:
        updates["ack_secret"] = secrets.token_urlsafe(32)
    if not settings.delivery_webhook_secret:
        updates["delivery_webhook_secret"] = secrets.token_urlsafe(32)
    if not settings.public_url:
        updates["public_url"] = f"http://{settings.api_host}:{settings.api_port}"
    return settings.model_copy(update=updates)


def ensure_logins(settings: Settings, *, prefix: str = "") -> list[DemoLogin]:
    """One user per role over the demo fleet (kept if they exist): the duty board of both care
    homes and the funeral facility, a daughter of the first senior living alone, an inspector
    of the district, an administrator."""
    from api.accounts import UserScope, create_user, user_id_by_name

    wanted = [
        ("admin", "admin", UserScope(), "everything"),
        (
            "duty",
            "duty",
            UserScope(sites=[f"{prefix}ch1", f"{prefix}ch2", f"{prefix}fun1"]),
            "care homes 1-2, funeral facility 1",
        ),  # fmt: skip
        ("family", "family", UserScope(residents=[f"{prefix}home1-r1"]), "senior 1 (home1)"),
        ("inspector", "inspector", UserScope(regions=["Xihu"]), "the Xihu district, read-only"),
    ]
    logins = []
    with connect(settings.database_url) as conn:
        for username, role, scope, sees in wanted:
            if user_id_by_name(conn=conn, username=username) is None:
                create_user(
                    conn=conn, username=username, password=DEMO_PASSWORD, role=role, scope=scope
                )
            logins.append(DemoLogin(username, role, sees))
        conn.commit()
    return logins


def start_services(settings: Settings, stack: ExitStack) -> str:
    """Start the API (with the console), a delivery worker and the escalation scheduler;
    returns the console's URL. They stop when ``stack`` closes."""
    _require_free_port(settings.api_host, settings.api_port)
    start_delivery(settings, stack)
    server = _api_server(settings)
    thread = threading.Thread(target=server.run, name="api", daemon=True)
    thread.start()

    def shut_down() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    stack.callback(shut_down)
    return f"http://{settings.api_host}:{settings.api_port}/console"


def _require_free_port(host: str, port: int) -> None:
    with socket.socket() as probe:
        if probe.connect_ex((host, port)) == 0:
            raise AnxinError(
                f"port {port} on {host} is taken: stop what listens there or set "
                "ANXIN_API_PORT to a free port"
            )


def _api_server(settings: Settings) -> uvicorn.Server:
    from api.app import create_app

    config = uvicorn.Config(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
    )
    return uvicorn.Server(config)
