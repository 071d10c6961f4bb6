"""Device MQTT credentials in Mosquitto's own password-file format.

Mosquitto 2 stores ``$7$<iterations>$<salt b64>$<PBKDF2-SHA512 b64>``; we write the same so the
registry is the single source of truth and ``anxin devices broker-auth`` only copies hashes out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

MOSQUITTO_ITERATIONS = 101
_SALT_BYTES = 12


def new_password() -> str:
    """A random credential with 128 bits of entropy, safe to type into a device's config."""
    return secrets.token_urlsafe(16)


def mosquitto_hash(password: str, *, salt: bytes | None = None) -> str:
    """Hash ``password`` exactly as ``mosquitto_passwd`` does."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, MOSQUITTO_ITERATIONS)
    salt_b64 = base64.b64encode(salt).decode()
    return f"$7${MOSQUITTO_ITERATIONS}${salt_b64}${base64.b64encode(digest).decode()}"


def verify(password: str, stored: str) -> bool:
    """Check a password against a ``$7$`` hash (used by tests and by EMQX-style HTTP auth)."""
    try:
        _, version, iterations, salt_b64, digest_b64 = stored.split("$")
    except ValueError:
        return False
    if version != "7":
        return False
    digest = hashlib.pbkdf2_hmac(
        "sha512", password.encode(), base64.b64decode(salt_b64), int(iterations)
    )
    return hmac.compare_digest(base64.b64encode(digest).decode(), digest_b64)
