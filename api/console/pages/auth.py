"""Logging in and out of the console, and choosing its language.

The login is the API's own (``api.login.log_in``: rate limit, argon2, audit of attempts) and
so is the session: the same signed token, in the API's ``HttpOnly; SameSite=Lax`` cookie, that
``POST /api/v1/auth/session`` sets.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse

from api import accounts
from api.console import csrf
from api.console.i18n import LANG_COOKIE, LANGUAGES
from api.console.render import HOME, PREFIX, ConsoleRoute, local_path, render
from api.deps import SESSION_COOKIE, ConnDep, PrincipalDep, SettingsDep
from api.errors import TooManyAttempts, Unauthenticated
from api.login import log_in
from api.routes.auth import client_ip, set_session_cookie

router = APIRouter(route_class=ConsoleRoute)

ONE_YEAR_S = 365 * 86400


@router.get("")
def console_home(principal: PrincipalDep) -> Response:
    """The role's own start page."""
    return RedirectResponse(HOME[principal.role], status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    return render(request, "login.html", {"next": local_path(next, ""), "error": None})


@router.post("/login", dependencies=[Depends(csrf.verify)])
def login(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "",
) -> Response:
    """Check the password, set the session cookie, go to ``next`` or the role's page."""
    try:
        issued = log_in(
            conn=conn,
            settings=settings,
            username=username.strip(),
            password=password,
            ip=client_ip(request),
        )
    except (Unauthenticated, TooManyAttempts) as exc:
        status = 429 if isinstance(exc, TooManyAttempts) else 401
        key = "login.locked" if status == 429 else "login.wrong"
        context = {"next": local_path(next, ""), "error": key, "username": username}
        return render(request, "login.html", context, status_code=status)
    principal = accounts.load_principal(conn=conn, user_id=issued.user_id, via="cookie")
    target = local_path(next, HOME[principal.role] if principal else f"{PREFIX}/login")
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(
        response, issued.token, max_age=issued.expires_in, secure=settings.api_cookie_secure
    )
    return response


@router.post("/logout", dependencies=[Depends(csrf.verify)])
def logout(settings: SettingsDep) -> Response:
    """Forget the session in this browser (other devices stay logged in)."""
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.api_cookie_secure
    )
    return response


@router.get("/lang/{lang}")
def choose_language(lang: str, settings: SettingsDep, next: str = "") -> Response:
    """Switch the console's language (remembered in a cookie), back to the page shown."""
    response = RedirectResponse(local_path(next, PREFIX), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=ONE_YEAR_S,
            samesite="lax",
            secure=settings.api_cookie_secure,
            path="/",
        )
    return response
