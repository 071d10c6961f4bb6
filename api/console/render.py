"""Rendering console pages: the Jinja2 environment, the context every page gets, and the one
place where errors become pages (``ConsoleRoute``).

API errors raised by the API's own dependencies and services keep their meaning here: a
missing login becomes a redirect to the login page, anything else a page with the API's
status code (403, 404, 409 ...) and its sentence saying what to do next.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from anxin import __version__
from anxin.errors import AnxinError
from api.console import csrf
from api.console.i18n import LANGUAGES, language_of, translator
from api.console.status import DEFAULT_ZONE
from api.errors import Unauthenticated, status_of
from api.scope import Principal, Role

PREFIX = "/console"
TEMPLATES_DIR = Path(__file__).parent / "templates"

HOME = {
    Role.ADMIN: f"{PREFIX}/admin/sites",
    Role.DUTY: f"{PREFIX}/board",
    Role.FAMILY: f"{PREFIX}/family",
    Role.INSPECTOR: f"{PREFIX}/history",
}
"""Where each role lands after logging in."""

NAV: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.ADMIN: (
        ("nav.board", "/board"),
        ("nav.history", "/history"),
        ("nav.statistics", "/statistics"),
        ("nav.rectifications", "/rectifications"),
        ("nav.sites", "/admin/sites"),
        ("nav.residents", "/admin/residents"),
        ("nav.devices", "/admin/devices"),
        ("nav.people", "/admin/people"),
    ),
    Role.DUTY: (
        ("nav.board", "/board"),
        ("nav.history", "/history"),
        ("nav.statistics", "/statistics"),
        ("nav.rectifications", "/rectifications"),
    ),
    Role.FAMILY: (("nav.family", "/family"),),
    Role.INSPECTOR: (
        ("nav.history", "/history"),
        ("nav.statistics", "/statistics"),
        ("nav.rectifications", "/rectifications"),
    ),
}


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["prefix"] = PREFIX
    env.globals["version"] = __version__
    env.globals["languages"] = LANGUAGES
    return env


templates = Jinja2Templates(env=_environment())


def local_path(target: str | None, default: str) -> str:
    """``target`` if it is a path on this server (never another host), else ``default``."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default


def when(moment: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return "" if moment is None else moment.astimezone(zone).strftime(fmt)


def duration(seconds: float | None) -> str:
    """``95`` -> ``1m 35s``; empty for no value."""
    if seconds is None:
        return ""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    zone: ZoneInfo = DEFAULT_ZONE,
    status_code: int = 200,
) -> HTMLResponse:
    """A page (or an htmx fragment) with what every template may use: ``t`` (translate),
    ``lang``, ``csrf_token``, ``principal``, its ``nav``, ``when`` and ``duration``."""
    lang = language_of(request)
    secret: str = request.app.state.settings.api_secret
    base: dict[str, Any] = {
        "t": translator(lang),
        "lang": lang,
        "csrf_token": csrf.request_token(request, secret),
        "principal": principal,
        "nav": NAV[principal.role] if principal else (),
        "home": HOME[principal.role] if principal else PREFIX,
        "here": request.url.path,
        "here_full": _path_with_query(request),
        "when": lambda moment, fmt="%Y-%m-%d %H:%M:%S": when(moment, zone, fmt),
        "duration": duration,
        "zone": zone,
    }
    response = templates.TemplateResponse(
        request, name, {**base, **(context or {})}, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _path_with_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def login_redirect(request: Request) -> Response:
    """Send the browser to the login page, coming back here afterwards."""
    target = f"{PREFIX}/login?next={quote(_path_with_query(request), safe='')}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {"status": status_code, "detail": detail},
        status_code=status_code,
    )


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsoleRoute(APIRoute):
    """A route whose errors are pages: no login -> the login page; an API error -> a page
    with its status and sentence; a malformed query -> 400 with what was wrong."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Unauthenticated:
                return login_redirect(request)
            except AnxinError as exc:
                return error_page(request, status_of(exc), str(exc))
            except RequestValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in err.get('loc', ())[1:])}: {err.get('msg', '')}"
                    for err in exc.errors()
                )
                return error_page(request, 400, problems)

        return console_handler
