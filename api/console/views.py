"""Mounting the console on the API app: its pages under ``/console`` (not in the OpenAPI
schema: they are HTML for people) and its static files under ``/console/static``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.console.pages import admin, auth, board, family, inspector, people
from api.console.render import PREFIX

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Add the console to ``app``; ``/`` then leads to it."""
    for pages in (auth, board, family, inspector, admin, people):
        app.include_router(pages.router, prefix=PREFIX, include_in_schema=False)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    app.add_api_route(
        "/", lambda: RedirectResponse(PREFIX, status_code=307), include_in_schema=False
    )
