"""The application factory: ``create_app(settings)`` builds the FastAPI app with its pool,
the live-stream listener, the error mapping and every router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from anxin import __version__
from anxin.settings import Settings
from api.console.views import install as install_console
from api.db import open_pool
from api.errors import install_error_handlers
from api.inspector import views as inspector
from api.routes import ack, alarms, auth, escalation, health, registry, stream, users
from api.stream.wakeup import Wakeup

DESCRIPTION = """Anxin (安心) API: alarms, live stream, registry and access for duty staff,
families, inspectors and administrators. Authenticate with a bearer token
(`POST /api/v1/auth/token`), an `X-API-Key` header or the console's session cookie. Objects
outside the caller's scope answer 404; actions the caller's role may not take answer 403."""


def create_app(settings: Settings) -> FastAPI:
    """A new app; its connection pool and its alarm-event listener start with the app and
    stop with it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = open_pool(settings.database_url)
        wakeup = Wakeup(settings.database_url)
        wakeup.start()
        app.state.pool, app.state.wakeup = pool, wakeup
        try:
            yield
        finally:
            await wakeup.stop()
            pool.close()

    app = FastAPI(
        title="Anxin API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    for router in (
        health.router,
        auth.router,
        alarms.router,
        stream.router,
        registry.router,
        escalation.router,
        users.router,
        inspector.router,
        ack.router,
    ):
        app.include_router(router)
    install_console(app)
    return app
