"""FastAPI dependencies: the connection, the settings and the authenticated principal.

``current_principal`` accepts, in this order, a bearer token (``Authorization: Bearer``), an
API key (``X-API-Key``) and the console's session cookie; the first one present decides (a
wrong token is not rescued by a cookie). ``require_role(...)`` narrows a route to roles.
``CredentialDep`` is what the caller authenticated with, for responses that outlive the
request's check (the alarm stream re-checks it on every read).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Credential:
    """The bearer token, API key or session cookie a request came with."""

    via: Via
    secret: str

    def principal(self, conn: Conn, settings: Settings) -> Principal | None:
        """The caller now; None once the credential expired or was revoked, or the user went."""
        if self.via == "api_key":
            return accounts.principal_for_api_key(conn=conn, key=self.secret)
        claims = read_token(self.secret, settings.api_secret)
        if claims is None:
            return None
        return accounts.load_principal(
            conn=conn,
            user_id=claims.user_id,
            generation=claims.generation,
            via=self.via,
        )


def current_credential(
    request: Request,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
    session: Annotated[str | None, Depends(_cookie)],
) -> Credential:
    if token:
        return Credential(via="token", secret=token)
    if api_key:
        return Credential(via="api_key", secret=api_key)
    if session:
        # The console's own form posts check their token themselves (it may be a form field).
        if request.url.path.startswith("/api/"):
            csrf.check_session_request(request, session, settings.api_secret)
        return Credential(via="cookie", secret=session)
    raise Unauthenticated(
        "log in: POST /api/v1/auth/token for a bearer token, or send an X-API-Key header"
    )


CredentialDep = Annotated[Credential, Depends(current_credential)]


def current_principal(conn: ConnDep, settings: SettingsDep, credential: CredentialDep) -> Principal:
    """The caller, or ``Unauthenticated`` (401) when no valid credential came with it."""
    principal = credential.principal(conn, settings)
    if principal is None:
        raise Unauthenticated(
            "the token, key or session is invalid, expired or revoked; log in again"
        )
    return principal


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
