"""Secrets: argon2 password hashes, signed access tokens (JWT, HS256) and API keys.

The same signed token serves as bearer token for the API and as the console's session cookie;
it names the user and the user's ``token_generation``, so raising the generation revokes every
token of that user before it expires.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_ALGORITHM = "HS256"
_DUMMY_HASH = _hasher.hash("no such user; verified only so that a miss takes as long as a hit")
MIN_SECRET_CHARS = 32
API_KEY_PREFIX = "anxin_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; with no stored hash (unknown user) a dummy one is verified, so that the
    answer time does not tell which usernames exist."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def check_secret(secret: str) -> None:
    """Refuse to sign with a short or empty key: a guessable key lets anyone forge a session."""
    if len(secret) < MIN_SECRET_CHARS:
        raise ValueError(
            f"ANXIN_API_SECRET must have at least {MIN_SECRET_CHARS} characters; generate one "
            "with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    generation: int
    expires_at: int


def issue_token(
    *, user_id: int, generation: int, secret: str, ttl_s: int, now: float | None = None
) -> str:
    issued = int(time.time() if now is None else now)
    claims = {"sub": str(user_id), "gen": generation, "iat": issued, "exp": issued + ttl_s}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def read_token(token: str, secret: str) -> TokenClaims | None:
    """The claims of a valid, unexpired token signed with ``secret``; None for anything else."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], options={"require": ["sub", "exp"]}
        )
        return TokenClaims(
            user_id=int(claims["sub"]), generation=int(claims["gen"]), expires_at=claims["exp"]
        )
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None


def new_api_key() -> str:
    """256 random bits with a recognisable prefix (secret scanners and people spot it)."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def api_key_hash(key: str) -> str:
    """What is stored of a key: its SHA-256 (keys are random, so no salt or slow hash is needed)."""
    return hashlib.sha256(key.encode()).hexdigest()
