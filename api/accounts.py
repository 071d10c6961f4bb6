"""Data access for users, their scopes and API keys, and loading a ``Principal``.

Functions take a keyword-only connection and never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from anxin.errors import Conflict, NotFound
from api.scope import Principal, Role, Via
from api.security import api_key_hash, hash_password, new_api_key

Conn = psycopg.Connection[Any]

MIN_PASSWORD_CHARS = 10


@dataclass(frozen=True)
class LoginRecord:
    id: int
    password_hash: str
    active: bool
    token_generation: int


@dataclass(frozen=True)
class UserScope:
    """A user's scope as given: site uids, resident uids and region paths."""

    sites: Sequence[str] = ()
    residents: Sequence[str] = ()
    regions: Sequence[str] = ()


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    role: str
    active: bool
    sites: list[str]
    residents: list[str]
    regions: list[str]


def _check_scope(role: Role, scope: UserScope) -> None:
    """Each role takes the kind of scope that means something for it, and needs one."""
    given = {
        "site": bool(scope.sites),
        "resident": bool(scope.residents),
        "region": bool(scope.regions),
    }
    accepted = {
        Role.ADMIN: set[str](),
        Role.DUTY: {"site"},
        Role.FAMILY: {"resident"},
        Role.INSPECTOR: {"site", "region"},
    }[role]
    wrong = sorted(kind for kind, present in given.items() if present and kind not in accepted)
    if wrong:
        raise Conflict(f"a {role} user takes no {' or '.join(wrong)} scope")
    if accepted and not any(given[kind] for kind in accepted):
        needed = " or ".join(f"--{kind}" for kind in sorted(accepted))
        raise Conflict(f"a {role} user needs a scope: give {needed}")


def create_user(
    *,
    conn: Conn,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    scope: UserScope = UserScope(),
) -> int:
    """Create a user with a role and its scope; unknown sites or residents are refused."""
    try:
        checked_role = Role(role)
    except ValueError:
        raise Conflict(
            f"role must be one of {', '.join(r.value for r in Role)} (got {role!r})"
        ) from None
    _check_scope(checked_role, scope)
    if len(password) < MIN_PASSWORD_CHARS:
        raise Conflict(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    try:
        row = conn.execute(
            """INSERT INTO users (username, display_name, password_hash, role)
               VALUES (%s, %s, %s, %s) RETURNING id""",
            (username, display_name or username, hash_password(password), checked_role.value),
        ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"a user named {username!r} already exists") from None
    except psycopg.errors.CheckViolation:
        raise Conflict(
            f"username {username!r} may use only letters, digits and . _ @ - (1-64 characters)"
        ) from None
    assert row is not None
    user_id = int(row[0])
    for uid in scope.sites:
        _add_scope(conn=conn, user_id=user_id, table="sites", column="site_id", uid=uid)
    for uid in scope.residents:
        _add_scope(conn=conn, user_id=user_id, table="residents", column="resident_id", uid=uid)
    for region in scope.regions:
        conn.execute(
            "INSERT INTO user_scopes (user_id, region) VALUES (%s, %s)",
            (user_id, region.strip("/")),
        )
    return user_id


def _add_scope(*, conn: Conn, user_id: int, table: str, column: str, uid: str) -> None:
    found = conn.execute(
        f"SELECT id FROM {table} WHERE uid = %s",  # table and column are constants, not input
        (uid,),
    ).fetchone()
    if found is None:
        noun = table.rstrip("s")
        raise NotFound(f"no {noun} {uid!r}; register it first")
    conn.execute(
        f"INSERT INTO user_scopes (user_id, {column}) VALUES (%s, %s)", (user_id, found[0])
    )


def find_login(*, conn: Conn, username: str) -> LoginRecord | None:
    with conn.cursor(row_factory=class_row(LoginRecord)) as cur:
        return cur.execute(
            """SELECT id, password_hash, active, token_generation FROM users
               WHERE username = %s""",
            (username,),
        ).fetchone()


def load_principal(
    *, conn: Conn, user_id: int, generation: int | None = None, via: Via = "token"
) -> Principal | None:
    """The principal of an active user, with its scope resolved to ids. With ``generation``,
    None also when the token was issued before the user's tokens were revoked."""
    row = conn.execute(
        """SELECT u.username, u.display_name, u.role, u.token_generation,
                  coalesce(array_agg(DISTINCT s.id) FILTER (WHERE s.id IS NOT NULL), '{}'),
                  coalesce(array_agg(DISTINCT us.resident_id)
                           FILTER (WHERE us.resident_id IS NOT NULL), '{}')
           FROM users u
           LEFT JOIN user_scopes us ON us.user_id = u.id
           LEFT JOIN residents r ON r.id = us.resident_id
           LEFT JOIN sites s ON s.id = us.site_id
                OR (us.region IS NOT NULL
                    AND (s.region = us.region OR s.region LIKE us.region || '/%%'))
                OR (s.id = r.site_id AND s.kind = 'home_alone')
           WHERE u.id = %s AND u.active
           GROUP BY u.id""",
        (user_id,),
    ).fetchone()
    if row is None or (generation is not None and generation != row[3]):
        return None
    return Principal(
        user_id=user_id,
        username=row[0],
        display_name=row[1],
        role=Role(row[2]),
        site_ids=frozenset(int(i) for i in row[4]),
        resident_ids=frozenset(int(i) for i in row[5]),
        via=via,
    )


def principal_for_api_key(*, conn: Conn, key: str) -> Principal | None:
    """The principal an API key acts for, if the key is known, unrevoked and unexpired."""
    row = conn.execute(
        """UPDATE api_keys SET last_used_at = now()
           WHERE key_hash = %s AND revoked_at IS NULL
             AND (expires_at IS NULL OR expires_at > now())
           RETURNING user_id""",
        (api_key_hash(key),),
    ).fetchone()
    if row is None:
        return None
    return load_principal(conn=conn, user_id=int(row[0]), via="api_key")


def create_api_key(
    *, conn: Conn, user_id: int, name: str, expires_at: datetime | None = None
) -> tuple[int, str]:
    """A new key for a user; the key itself is returned once and only its hash is kept."""
    key = new_api_key()
    try:
        row = conn.execute(
            """INSERT INTO api_keys (user_id, name, key_hash, expires_at)
               VALUES (%s, %s, %s, %s) RETURNING id""",
            (user_id, name, api_key_hash(key), expires_at),
        ).fetchone()
    except psycopg.errors.ForeignKeyViolation:
        raise NotFound(f"no user with id {user_id}") from None
    assert row is not None
    return int(row[0]), key


def revoke_api_key(*, conn: Conn, key_id: int) -> None:
    cur = conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL", (key_id,)
    )
    if cur.rowcount == 0:
        raise NotFound(f"no active API key with id {key_id}")


def revoke_tokens(*, conn: Conn, user_id: int) -> None:
    """Invalidate every token and console session of the user (log out everywhere)."""
    conn.execute(
        "UPDATE users SET token_generation = token_generation + 1 WHERE id = %s", (user_id,)
    )


def user_id_by_name(*, conn: Conn, username: str) -> int | None:
    row = conn.execute("SELECT id FROM users WHERE username = %s", (username,)).fetchone()
    return int(row[0]) if row else None


_USER_SELECT = """
    SELECT u.id, u.username, u.display_name, u.role, u.active,
           coalesce(array_agg(DISTINCT s.uid) FILTER (WHERE s.uid IS NOT NULL), '{}') AS sites,
           coalesce(array_agg(DISTINCT r.uid) FILTER (WHERE r.uid IS NOT NULL), '{}')
               AS residents,
           coalesce(array_agg(DISTINCT us.region) FILTER (WHERE us.region IS NOT NULL), '{}')
               AS regions
    FROM users u
    LEFT JOIN user_scopes us ON us.user_id = u.id
    LEFT JOIN sites s ON s.id = us.site_id
    LEFT JOIN residents r ON r.id = us.resident_id"""


def list_users(*, conn: Conn) -> list[User]:
    with conn.cursor(row_factory=class_row(User)) as cur:
        return cur.execute(_USER_SELECT + " GROUP BY u.id ORDER BY u.username").fetchall()


def get_user(*, conn: Conn, user_id: int) -> User | None:
    with conn.cursor(row_factory=class_row(User)) as cur:
        return cur.execute(_USER_SELECT + " WHERE u.id = %s GROUP BY u.id", (user_id,)).fetchone()
