"""Logging in: OAuth2 password flow for API clients, a session cookie for the console."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from api import accounts, csrf
from api.deps import SESSION_COOKIE, ConnDep, PrincipalDep, SettingsDep
from api.errors import responses
from api.login import log_in
from api.scope import Principal, Role

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class Me(BaseModel):
    user_id: int
    username: str
    display_name: str
    role: Role
    site_ids: list[int]
    resident_ids: list[int]

    @classmethod
    def of(cls, principal: Principal) -> Me:
        return cls(
            user_id=principal.user_id,
            username=principal.username,
            display_name=principal.display_name,
            role=principal.role,
            site_ids=sorted(principal.site_ids),
            resident_ids=sorted(principal.resident_ids),
        )


def client_ip(request: Request) -> str:
    """The caller's address (behind a proxy, run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else "unknown"


@router.post("/token", response_model=TokenOut, responses=responses(401, 429))
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
) -> TokenOut:
    """OAuth2 password flow: a bearer token for ``Authorization: Bearer <token>``.

    Five failed attempts for one username from one address within 5 minutes lock that pair
    out (429 with Retry-After)."""
    issued = log_in(
        conn=conn,
        settings=settings,
        username=form.username,
        password=form.password,
        ip=client_ip(request),
    )
    return TokenOut(access_token=issued.token, expires_in=issued.expires_in)


@router.post("/session", response_model=Me, responses=responses(401, 403, 429))
def open_session(
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    request: Request,
    response: Response,
    conn: ConnDep,
    settings: SettingsDep,
) -> Me:
    """Log in to the console: sets the HttpOnly, SameSite=Lax session cookie. Refused when a
    browser reports the form as sent from another site (login CSRF)."""
    csrf.check_origin(request)
    issued = log_in(
        conn=conn, settings=settings, username=username, password=password, ip=client_ip(request)
    )
    set_session_cookie(
        response, issued.token, max_age=issued.expires_in, secure=settings.api_cookie_secure
    )
    principal = accounts.load_principal(conn=conn, user_id=issued.user_id, via="cookie")
    assert principal is not None
    return Me.of(principal)


def set_session_cookie(response: Response, token: str, *, max_age: int, secure: bool) -> None:
    """The console's session: not readable by scripts, not sent on cross-site POSTs."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


@router.delete("/session", status_code=204, response_class=Response)
def close_session(settings: SettingsDep) -> Response:
    """Log out of the console (clears the cookie; the token itself ends at its expiry, or at
    once for every device with POST /auth/revoke)."""
    response = Response(status_code=204)
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.api_cookie_secure
    )
    return response


@router.post("/revoke", status_code=204, response_class=Response, responses=responses(401))
def revoke(principal: PrincipalDep, conn: ConnDep) -> Response:
    """Log out everywhere: every token and session of the caller stops working now."""
    accounts.revoke_tokens(conn=conn, user_id=principal.user_id)
    return Response(status_code=204)


@router.get("/me", response_model=Me, responses=responses(401))
def me(principal: PrincipalDep) -> Me:
    """Who the credential belongs to, with the role and the scope the API applies."""
    return Me.of(principal)
