"""Cross-site request forgery checks shared by the API and the console.

A session cookie is ``SameSite=Lax``, so a cross-site POST does not carry it; on top of that
a state-changing request made with the session must come from this site (``Sec-Fetch-Site``,
else ``Origin``, when the browser sends them) and carry a token bound to the session: an HMAC
of the session cookie under the API secret, so it needs no storage and dies with the session.
Bearer tokens and API keys are not sent by browsers on their own and need none of this.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request

from api.errors import Forbidden

HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PURPOSE = b"anxin-console-csrf:"


def token_for(session: str, secret: str) -> str:
    """The token that requests of this session must send back."""
    return hmac.new(secret.encode(), _PURPOSE + session.encode(), hashlib.sha256).hexdigest()


def check_origin(request: Request) -> None:
    """Refuse a request that a browser reports as coming from another site."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site not in ("same-origin", "none"):
            raise Forbidden("this request was sent from another site; open the console and retry")
        return
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host"):
        raise Forbidden("this request was sent from another site; open the console and retry")


def check_session_request(request: Request, session: str, secret: str) -> None:
    """An API call authenticated by the session cookie that changes state: same site, and the
    session's token in the ``X-CSRF-Token`` header (the console's pages carry it)."""
    if request.method in SAFE_METHODS:
        return
    check_origin(request)
    sent = request.headers.get(HEADER)
    if not sent or not hmac.compare_digest(sent, token_for(session, secret)):
        raise Forbidden(
            f"a request made with the console session must carry its {HEADER} header; "
            "API clients should use a bearer token or an API key"
        )
