"""Who may see and do what: the one place where roles and scopes become SQL and checks.

Every route and service that reads scoped data takes a ``Principal`` and asks this module for a
filter (``sites``, ``residents``, ``devices``, ``alarms``, ``people``) to put in its WHERE
clause, and for a check (``require``) before it changes anything. Rules:

- admin: everything, every action;
- duty: the sites they are assigned to; acknowledge, resolve and silence alarms there;
- family: their relative(s) and the alarms about them (their own alarms, their bracelet's, and,
  for a senior living alone, those of the home); may acknowledge ("I am on my way");
- inspector: every site of their region(s), read only.

An object outside the scope is reported as not found (404), so that its existence is not
revealed; an action the role may not take on a visible object is forbidden (403).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from psycopg import sql

from api.errors import Forbidden

Via = Literal["token", "cookie", "api_key", "link"]


class Role(StrEnum):
    ADMIN = "admin"
    DUTY = "duty"
    FAMILY = "family"
    INSPECTOR = "inspector"


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    SILENCE = "silence"
    MANAGE_REGISTRY = "manage_registry"
    MANAGE_USERS = "manage_users"


_ALLOWED: dict[Action, frozenset[Role]] = {
    Action.ACKNOWLEDGE: frozenset({Role.ADMIN, Role.DUTY, Role.FAMILY}),
    Action.RESOLVE: frozenset({Role.ADMIN, Role.DUTY}),
    Action.SILENCE: frozenset({Role.ADMIN, Role.DUTY}),
    Action.MANAGE_REGISTRY: frozenset({Role.ADMIN}),
    Action.MANAGE_USERS: frozenset({Role.ADMIN}),
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, loaded from the database on every request (so a changed
    scope or a deactivated user takes effect at once).

    ``site_ids`` are the sites seen in full: a duty member's sites, an inspector's region, and
    for family the homes of relatives who live alone. ``resident_ids`` are the residents a
    family member follows.
    """

    user_id: int
    username: str
    display_name: str
    role: Role
    site_ids: frozenset[int]
    resident_ids: frozenset[int]
    via: Via = "token"

    @property
    def actor(self) -> str:
        """How this person is named in the audit trail and in ``acknowledged_by``."""
        return self.username


def can(principal: Principal, action: Action) -> bool:
    return principal.role in _ALLOWED[action]


def require(principal: Principal, action: Action) -> None:
    """Raise ``Forbidden`` unless the principal's role may take ``action``."""
    if not can(principal, action):
        allowed = ", ".join(sorted(_ALLOWED[action]))
        raise Forbidden(
            f"a {principal.role} user may not {action.replace('_', ' ')} (allowed: {allowed})"
        )


def _ids(values: frozenset[int]) -> sql.Composable:
    return sql.SQL("{}::bigint[]").format(sql.Literal(sorted(values)))


def _col(column: str) -> sql.Composable:
    return sql.Identifier(*column.split("."))


_TRUE = sql.SQL("TRUE")
_FALSE = sql.SQL("FALSE")


def sites(principal: Principal, id_column: str) -> sql.Composable:
    """Sites the principal may list (family: those where their relatives live)."""
    if principal.role is Role.ADMIN:
        return _TRUE
    if principal.role is Role.FAMILY:
        return sql.SQL(
            "{col} IN (SELECT site_id FROM residents WHERE id = ANY({residents}))"
        ).format(col=_col(id_column), residents=_ids(principal.resident_ids))
    return sql.SQL("{} = ANY({})").format(_col(id_column), _ids(principal.site_ids))


def residents(principal: Principal, id_column: str, site_column: str) -> sql.Composable:
    if principal.role is Role.ADMIN:
        return _TRUE
    if principal.role is Role.FAMILY:
        return sql.SQL("{} = ANY({})").format(_col(id_column), _ids(principal.resident_ids))
    return sql.SQL("{} = ANY({})").format(_col(site_column), _ids(principal.site_ids))


def devices(principal: Principal, site_column: str, resident_column: str) -> sql.Composable:
    if principal.role is Role.ADMIN:
        return _TRUE
    in_sites = sql.SQL("{} = ANY({})").format(_col(site_column), _ids(principal.site_ids))
    if principal.role is Role.FAMILY:
        worn = sql.SQL("{} = ANY({})").format(_col(resident_column), _ids(principal.resident_ids))
        return sql.SQL("({} OR {})").format(worn, in_sites)
    return in_sites


def alarms(principal: Principal, alias: str = "a") -> sql.Composable:
    """Alarms the principal may see; ``alias`` names the ``alarms`` table in the query."""
    if principal.role is Role.ADMIN:
        return _TRUE
    in_sites = sql.SQL("{} = ANY({})").format(
        sql.Identifier(alias, "site_id"), _ids(principal.site_ids)
    )
    if principal.role is not Role.FAMILY:
        return in_sites
    return sql.SQL(
        """({in_sites}
            OR ({a}.subject_kind = 'resident' AND {a}.subject_id = ANY({residents}))
            OR {a}.device_id IN (SELECT id FROM devices WHERE resident_id = ANY({residents})))"""
    ).format(in_sites=in_sites, a=sql.Identifier(alias), residents=_ids(principal.resident_ids))


def people(principal: Principal, site_column: str) -> sql.Composable:
    """Contacts and staff (names, phones, channels): admin and the duty staff of the site."""
    if principal.role is Role.ADMIN:
        return _TRUE
    if principal.role is Role.DUTY:
        return sql.SQL("{} = ANY({})").format(_col(site_column), _ids(principal.site_ids))
    return _FALSE


def sees_audit_detail(principal: Principal) -> bool:
    """Whether the audit trail's details (who was notified, on which channel and address) are
    shown; family see what happened and when, not other people's contact details."""
    return principal.role is not Role.FAMILY
