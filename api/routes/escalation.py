"""Escalation policies (administrators) and silences (administrators and duty staff)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ConnDep, PrincipalDep, RegistryAdminDep
from api.errors import responses
from api.registry import escalation
from api.registry.escalation import PolicyIn, PolicyOut, SilenceIn, SilenceOut

router = APIRouter(prefix="/api/v1", tags=["escalation"])
_WRITE = responses(401, 403, 404, 409)


@router.get("/escalation-policies", response_model=list[PolicyOut], responses=responses(401, 403))
def list_policies(admin: RegistryAdminDep, conn: ConnDep) -> list[PolicyOut]:
    """Every policy with its tiers; the most specific one applies to an alarm."""
    return escalation.list_policies(conn=conn)


@router.put("/escalation-policies", response_model=PolicyOut, responses=_WRITE)
def set_policy(body: PolicyIn, admin: RegistryAdminDep, conn: ConnDep) -> PolicyOut:
    """Create or replace the policy of (site, alarm kind, minimum severity); tier 1 must be
    due at once."""
    with conn.transaction():
        return escalation.set_policy(conn=conn, body=body)


@router.get("/silences", response_model=list[SilenceOut], responses=responses(401))
def list_silences(
    principal: PrincipalDep,
    conn: ConnDep,
    site: Annotated[str | None, Query(description="only this site (uid)")] = None,
) -> list[SilenceOut]:
    """Silences in force or planned, of the caller's sites (admins and duty staff)."""
    return escalation.list_silences(conn=conn, principal=principal, site=site)


@router.post("/silences", response_model=SilenceOut, status_code=201, responses=_WRITE)
def create_silence(body: SilenceIn, principal: PrincipalDep, conn: ConnDep) -> SilenceOut:
    """Record but do not send alarms of a device or location until ``ends_at`` (sensor
    tests, repairs); the caller is its owner."""
    with conn.transaction():
        return escalation.create_silence(conn=conn, principal=principal, body=body)


@router.post(
    "/silences/{silence_id}/end", status_code=204, response_class=Response, responses=_WRITE
)
def end_silence(silence_id: int, principal: PrincipalDep, conn: ConnDep) -> Response:
    """End a silence early (it stays on record with who ended it)."""
    with conn.transaction():
        escalation.end_silence(conn=conn, principal=principal, silence_id=silence_id)
    return Response(status_code=204)
