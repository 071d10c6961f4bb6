"""FastAPI dependencies: the connection, the settings and the authenticated principal.

``current_principal`` accepts, in this order, a bearer token (``Authorization: Bearer``), an
API key (``X-API-Key``) and the console's session cookie; the first one present decides (a
wrong token is not rescued by a cookie). ``require_role(...)`` narrows a route to roles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, APIKeyHeader, OAuth2PasswordBearer

from anxin.settings import Settings
from api import accounts, csrf, scope
from api.db import Conn, get_conn
from api.errors import Forbidden, Unauthenticated
from api.scope import Action, Principal, Role, Via
from api.security import read_token

SESSION_COOKIE = "anxin_session"
API_KEY_HEADER = "X-API-Key"

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
_api_key = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


ConnDep = Annotated[Conn, Depends(get_conn)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def current_principal(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
    session: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """The caller, or ``Unauthenticated`` (401) when no valid credential came with it."""
    if token:
        principal = _from_token(conn, settings, token, via="token")
    elif api_key:
        principal = accounts.principal_for_api_key(conn=conn, key=api_key)
    elif session:
        # The console's own form posts check their token themselves (it may be a form field).
        if request.url.path.startswith("/api/"):
            csrf.check_session_request(request, session, settings.api_secret)
        principal = _from_token(conn, settings, session, via="cookie")
    else:
        raise Unauthenticated(
            "log in: POST /api/v1/auth/token for a bearer token, or send an X-API-Key header"
        )
    if principal is None:
        raise Unauthenticated(
            "the token, key or session is invalid, expired or revoked; log in again"
        )
    return principal


def _from_token(conn: Conn, settings: Settings, token: str, *, via: Via) -> Principal | None:
    claims = read_token(token, settings.api_secret)
    if claims is None:
        return None
    return accounts.load_principal(
        conn=conn,
        user_id=claims.user_id,
        generation=claims.generation,
        via=via,
    )


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that passes the principal through if its role is one of ``roles``, and
    answers 403 otherwise. Use as ``Annotated[Principal, Depends(require_role(Role.ADMIN))]``."""
    allowed = frozenset(roles)

    def dependency(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(allowed))
            raise Forbidden(f"this needs the role {names}; you are {principal.role}")
        return principal

    return dependency


def require_action(action: Action) -> Callable[[Principal], Principal]:
    """A dependency that passes the principal through if ``api.scope`` lets its role take
    ``action``, and answers 403 otherwise."""

    def dependency(principal: PrincipalDep) -> Principal:
        scope.require(principal, action)
        return principal

    return dependency


RegistryAdminDep = Annotated[Principal, Depends(require_action(Action.MANAGE_REGISTRY))]
UserAdminDep = Annotated[Principal, Depends(require_action(Action.MANAGE_USERS))]
