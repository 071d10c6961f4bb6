"""Cross-site request forgery protection for the console's form posts.

Three layers: the session cookie is ``SameSite=Lax`` (a cross-site POST does not carry it);
every console POST must come from the console's own origin (``Sec-Fetch-Site``, else
``Origin``, when the browser sends them); and every POST made with a session carries a token
bound to that session (a hidden ``csrf_token`` field, or the ``X-CSRF-Token`` header that htmx
sends from the page's ``hx-headers``). The token is an HMAC of the session cookie under the API
secret, so it needs no storage and dies with the session.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from api.csrf import HEADER, check_origin, token_for
from api.deps import SESSION_COOKIE
from api.errors import Forbidden

__all__ = ["FIELD", "HEADER", "check", "request_token", "token_for", "verify"]

FIELD = "csrf_token"


def request_token(request: Request, secret: str) -> str:
    """The token to put in this request's page; empty before login."""
    session = request.cookies.get(SESSION_COOKIE)
    return token_for(session, secret) if session else ""


async def check(request: Request, secret: str) -> None:
    """Check a console POST: same origin, and with a session the session's token."""
    check_origin(request)
    session = request.cookies.get(SESSION_COOKIE)
    if not session:
        return
    sent = request.headers.get(HEADER)
    if sent is None:
        form = await request.form()
        field = form.get(FIELD)
        sent = field if isinstance(field, str) else None
    if not sent or not hmac.compare_digest(sent, token_for(session, secret)):
        raise Forbidden("the form has expired or did not come from this console; reload the page")


async def verify(request: Request) -> None:
    """Route dependency: ``dependencies=[Depends(csrf.verify)]`` on every console POST."""
    await check(request, request.app.state.settings.api_secret)
