"""Signed, expiring, single-use acknowledgement links carried in every alarm message.

A link is ``{public_url}/ack/{token}``; the token is a JWT (HS256, PyJWT) naming the alarm, the
recipient it was sent to, an expiry and a random id (``jti``). The signature stops forgery and
tampering, the expiry bounds how long a leaked message stays useful, and ``redeem`` inserts the
``jti`` into ``ack_links_used`` in the acknowledging transaction, so a link works once even if
two clicks race.

The secret must not be the webhook secret: webhook receivers know that one and could mint links.

A GET of the link must not acknowledge by itself: chat apps fetch URLs to build previews. The
web page should ask for a click (a POST) that calls ``redeem``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import jwt
import psycopg

from alerts import lifecycle
from anxin.errors import AnxinError

Conn = psycopg.Connection[Any]

_AUDIENCE = "anxin-ack"
_ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32


class AckLinkError(AnxinError):
    """An acknowledgement link was refused; the message says why and what to do instead."""


class AckLinkInvalid(AckLinkError):
    """Not a link Anxin signed (tampered with, truncated, or signed with another secret)."""


class AckLinkExpired(AckLinkError):
    """A genuine link past its expiry."""


class AckLinkUsed(AckLinkError):
    """A genuine link that was already used once."""


@dataclass(frozen=True)
class AckClaims:
    alarm_id: int
    recipient: str
    jti: str
    expires_at: float


@dataclass(frozen=True)
class AckLinks:
    """How messages build their links: ``{public_url}/ack/{token}``, valid ``ttl_s``."""

    public_url: str
    secret: str
    ttl_s: float = 86400.0

    def __post_init__(self) -> None:
        _check_secret(self.secret)

    def url(self, *, alarm_id: int, recipient: str, now: float) -> str:
        token = make_token(
            alarm_id=alarm_id, recipient=recipient, secret=self.secret, ttl_s=self.ttl_s, now=now
        )
        return f"{self.public_url.rstrip('/')}/ack/{token}"


@dataclass(frozen=True)
class Redeemed:
    """``acknowledged`` is False when someone else acknowledged (or resolved) it first."""

    claims: AckClaims
    acknowledged: bool


def _check_secret(secret: str) -> None:
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ValueError(
            f"the acknowledgement-link secret must be at least {MIN_SECRET_BYTES} bytes; "
            "set ANXIN_ACK_SECRET, e.g. to the output of: openssl rand -hex 32"
        )


def make_token(*, alarm_id: int, recipient: str, secret: str, ttl_s: float, now: float) -> str:
    """A token for one recipient of one alarm, valid from ``now`` for ``ttl_s`` seconds."""
    _check_secret(secret)
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive (got {ttl_s})")
    claims = {
        "aud": _AUDIENCE,
        "aid": alarm_id,
        "sub": recipient,
        "iat": now,
        "exp": now + ttl_s,
        "jti": secrets.token_urlsafe(16),
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify_token(token: str, *, secret: str, now: float) -> AckClaims:
    """The claims of a genuine, unexpired token; raises ``AckLinkInvalid`` or
    ``AckLinkExpired``. Whether it was used already is the database's to say (``redeem``)."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["aid", "sub", "exp", "jti"],
            },
        )
    except jwt.PyJWTError:
        raise AckLinkInvalid(
            "this acknowledgement link is not valid (altered or incomplete); "
            "acknowledge the alarm in the Anxin console instead"
        ) from None
    alarm_id, expires_at = claims["aid"], claims["exp"]
    if not isinstance(alarm_id, int) or not isinstance(expires_at, int | float):
        raise AckLinkInvalid("this acknowledgement link is malformed; use the Anxin console")
    if now >= expires_at:
        raise AckLinkExpired(
            "this acknowledgement link has expired; acknowledge the alarm in the Anxin console"
        )
    return AckClaims(
        alarm_id=alarm_id,
        recipient=str(claims["sub"]),
        jti=str(claims["jti"]),
        expires_at=float(expires_at),
    )


def redeem(*, conn: Conn, token: str, secret: str, now: float) -> Redeemed:
    """Use a link: verify it, spend it, and acknowledge its alarm as its recipient (via
    'link'). Raises ``AckLinkUsed`` the second time. Does not commit."""
    claims = verify_token(token, secret=secret, now=now)
    spent = conn.execute(
        """INSERT INTO ack_links_used (jti, alarm_id, used_by)
           SELECT %s, id, %s FROM alarms WHERE id = %s
           ON CONFLICT (jti) DO NOTHING RETURNING jti""",
        (claims.jti, claims.recipient, claims.alarm_id),
    ).fetchone()
    if spent is None:
        if conn.execute("SELECT 1 FROM alarms WHERE id = %s", (claims.alarm_id,)).fetchone():
            raise AckLinkUsed(
                "this acknowledgement link was already used; see the alarm in the Anxin console"
            )
        raise AckLinkInvalid("the alarm of this link no longer exists")
    acknowledged = lifecycle.acknowledge(
        conn=conn, alarm_id=claims.alarm_id, by=claims.recipient, via="link"
    )
    return Redeemed(claims=claims, acknowledged=acknowledged)
