"""Scope and filters as SQL, shared by the history and the statistics queries.

The scope is always an explicit list of site ids: whatever the caller's role, the API resolves
it once into the sites it may see, and every query here reads only those.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

from api.inspector.models import AlarmFilter

Conn = psycopg.Connection[Any]


def effective_sites(scope: Sequence[int], requested: Sequence[int]) -> list[int]:
    """The sites to read: the requested ones that the scope allows (all allowed if none named).

    A requested site outside the scope is dropped rather than reported, so that a caller
    cannot learn which site ids exist beyond their scope.
    """
    allowed = set(scope)
    return sorted(allowed.intersection(requested) if requested else allowed)


def alarm_conditions(
    spec: AlarmFilter, alias: str = "a"
) -> tuple[list[sql.Composable], dict[str, Any]]:
    """WHERE conditions (to be joined with AND) and their parameters for ``spec``.

    Only the filters actually given become SQL, so that each query shape gets a plan made for
    it, rather than one generic plan full of ``param IS NULL OR ...`` branches.
    """
    a = sql.Identifier(alias)
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if spec.kinds:
        conditions.append(sql.SQL("{}.kind = ANY(%(kinds)s::text[])").format(a))
        params["kinds"] = list(spec.kinds)
    if spec.severities:
        conditions.append(sql.SQL("{}.severity = ANY(%(severities)s::smallint[])").format(a))
        params["severities"] = list(spec.severities)
    if spec.outcomes:
        conditions.append(sql.SQL("{}.outcome = ANY(%(outcomes)s::text[])").format(a))
        params["outcomes"] = [o.value for o in spec.outcomes]
    if spec.states:
        conditions.append(sql.SQL("{}.state = ANY(%(states)s::alarm_state[])").format(a))
        params["states"] = [s.value for s in spec.states]
    if spec.since is not None:
        conditions.append(sql.SQL("{}.raised_at >= %(since)s").format(a))
        params["since"] = spec.since
    if spec.until is not None:
        conditions.append(sql.SQL("{}.raised_at < %(until)s").format(a))
        params["until"] = spec.until
    return conditions, params


def joined(conditions: Sequence[sql.Composable]) -> sql.Composable:
    """``c1 AND c2 ...``, or TRUE when there are none."""
    return sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("TRUE")


def site_names(*, conn: Conn, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """(uid, name) of each site id, to label figures and reports."""
    rows = conn.execute(
        "SELECT id, uid, name FROM sites WHERE id = ANY(%s::bigint[])", (list(ids),)
    ).fetchall()
    return {int(i): (str(uid), str(name)) for i, uid, name in rows}
