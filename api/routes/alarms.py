"""Alarm routes: list, detail, acknowledge, resolve, silence (thin: the work is in
``api.alarms.service``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.alarms import service
from api.alarms.models import (
    AlarmDetail,
    AlarmPage,
    AlarmState,
    AlarmSummary,
    ResolveIn,
    SilenceIn,
)
from api.deps import ConnDep, PrincipalDep
from api.errors import responses
from api.params import IsoDatetime
from api.scope import Principal

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])


def via(principal: Principal) -> str:
    """The channel recorded in the audit trail for an action of this principal."""
    return {"cookie": "console", "api_key": "integration"}.get(principal.via, "api")


@router.get("", response_model=AlarmPage, responses=responses(401))
def list_alarms(
    principal: PrincipalDep,
    conn: ConnDep,
    site: Annotated[str | None, Query(description="site uid")] = None,
    kind: Annotated[list[str] | None, Query(description="alarm kinds (repeatable)")] = None,
    state: Annotated[list[AlarmState] | None, Query(description="states (repeatable)")] = None,
    min_severity: Annotated[int | None, Query(ge=1, le=4)] = None,
    since: Annotated[IsoDatetime | None, Query(description="raised at or after")] = None,
    until: Annotated[IsoDatetime | None, Query(description="raised before")] = None,
    before: Annotated[int | None, Query(description="cursor: next_before of the last page")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 50,
) -> AlarmPage:
    """Alarms in the caller's scope, newest first, one page at a time."""
    return service.list_alarms(
        conn=conn,
        principal=principal,
        where=service.AlarmFilter(
            site=site,
            kinds=tuple(kind or ()),
            states=tuple(state or ()),
            min_severity=min_severity,
            since=since,
            until=until,
            before=before,
            limit=limit,
        ),
    )


@router.get("/{alarm_id}", response_model=AlarmDetail, responses=responses(401, 404))
def get_alarm(alarm_id: int, principal: PrincipalDep, conn: ConnDep) -> AlarmDetail:
    """The alarm with its evidence, audit trail and its device's readings from 5 minutes
    before to 5 minutes after it began."""
    return service.get_detail(conn=conn, principal=principal, alarm_id=alarm_id)


@router.post(
    "/{alarm_id}/acknowledge",
    response_model=AlarmSummary,
    responses=responses(401, 403, 404, 409),
)
def acknowledge(alarm_id: int, principal: PrincipalDep, conn: ConnDep) -> AlarmSummary:
    """Take the alarm: escalation stops. Admin, duty staff and family may acknowledge."""
    return service.acknowledge(
        conn=conn, principal=principal, alarm_id=alarm_id, via=via(principal)
    )


@router.post(
    "/{alarm_id}/resolve",
    response_model=AlarmSummary,
    responses=responses(401, 403, 404, 409),
)
def resolve(alarm_id: int, body: ResolveIn, principal: PrincipalDep, conn: ConnDep) -> AlarmSummary:
    """Close the alarm with its outcome (real, false_alarm, test) and a note."""
    return service.resolve(
        conn=conn,
        principal=principal,
        alarm_id=alarm_id,
        outcome=body.outcome,
        note=body.note,
        via=via(principal),
    )


@router.post(
    "/{alarm_id}/silence",
    response_model=AlarmSummary,
    responses=responses(401, 403, 404, 409),
)
def silence(alarm_id: int, body: SilenceIn, principal: PrincipalDep, conn: ConnDep) -> AlarmSummary:
    """Stop notifications about an active alarm, with a reason; it stays on the board."""
    return service.silence(
        conn=conn, principal=principal, alarm_id=alarm_id, reason=body.reason, via=via(principal)
    )
