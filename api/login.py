"""The login flow shared by the token endpoint and the console's session: rate limit, verify,
record the attempt, issue a token."""

from __future__ import annotations

from dataclasses import dataclass

from anxin.settings import Settings
from api import accounts, ratelimit
from api.db import Conn
from api.errors import TooManyAttempts, Unauthenticated
from api.security import issue_token, verify_password


@dataclass(frozen=True)
class IssuedToken:
    token: str
    user_id: int
    expires_in: int


def log_in(*, conn: Conn, settings: Settings, username: str, password: str, ip: str) -> IssuedToken:
    """A signed token for a correct username and password; ``TooManyAttempts`` while the pair
    is locked out and ``Unauthenticated`` for a wrong or inactive login (the message does not
    say which part was wrong)."""
    wait = ratelimit.retry_after_s(conn=conn, username=username, ip=ip)
    if wait is not None:
        raise TooManyAttempts(
            f"too many failed logins for {username!r} from this address; "
            f"try again in {wait} s or ask an administrator to reset the password",
            retry_after_s=wait,
        )
    record = accounts.find_login(conn=conn, username=username)
    ok = verify_password(record.password_hash if record else None, password)
    ok = ok and record is not None and record.active
    ratelimit.record_attempt(conn=conn, username=username, ip=ip, ok=ok)
    if not ok or record is None:
        raise Unauthenticated("wrong username or password (or the account is disabled)")
    token = issue_token(
        user_id=record.id,
        generation=record.token_generation,
        secret=settings.api_secret,
        ttl_s=settings.api_token_ttl_s,
    )
    return IssuedToken(token=token, user_id=record.id, expires_in=settings.api_token_ttl_s)
