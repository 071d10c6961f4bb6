"""Residents' pages: the family's phone page for their relative (status, recent alarms, "I am
on my way"), also opened by duty staff and admins from the board.

The resident is looked up through the API's scoped registry read, so a resident outside the
caller's scope does not exist for them (404), whoever they are.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse

from anxin.errors import NotFound
from api import scope
from api.alarms import service as alarms
from api.alarms.models import AlarmSummary
from api.console.render import PREFIX, ConsoleRoute, render
from api.console.status import ResidentStatus, display_zone, resident_statuses
from api.db import Conn
from api.deps import ConnDep, PrincipalDep, require_role
from api.registry import service as registry
from api.scope import Action, Principal, Role

router = APIRouter(route_class=ConsoleRoute)

FamilyUser = Annotated[Principal, Depends(require_role(Role.FAMILY))]
RECENT = 20


@router.get("/family")
def family_home(request: Request, principal: FamilyUser, conn: ConnDep) -> Response:
    """The relatives this family member follows; straight to the page of an only one."""
    relatives = resident_statuses(conn=conn, principal=principal)
    if len(relatives) == 1:
        return RedirectResponse(f"{PREFIX}/residents/{relatives[0].uid}", status_code=303)
    return render(
        request,
        "family.html",
        {"relatives": relatives},
        principal=principal,
        zone=display_zone(conn=conn, principal=principal),
    )


@router.get("/residents/{uid}")
def resident_page(request: Request, uid: str, principal: PrincipalDep, conn: ConnDep) -> Response:
    registry.get_resident(conn=conn, principal=principal, uid=uid)
    found = resident_statuses(conn=conn, principal=principal, uid=uid)
    if not found:
        raise NotFound(f"resident {uid!r} is no longer active; ask the care home")
    status = found[0]
    return render(
        request,
        "resident.html",
        {
            "resident": status,
            "alarms": recent_alarms(conn=conn, principal=principal, resident=status),
            "may_acknowledge": scope.can(principal, Action.ACKNOWLEDGE),
        },
        principal=principal,
        zone=display_zone(conn=conn, principal=principal),
    )


def recent_alarms(
    *, conn: Conn, principal: Principal, resident: ResidentStatus
) -> list[AlarmSummary]:
    """The newest alarms at the resident's site that concern them: their own, their bracelet's,
    and the home's (fire, gas) when they live alone; not those of other residents."""
    page = alarms.list_alarms(
        conn=conn,
        principal=principal,
        where=alarms.AlarmFilter(site=resident.site_uid, limit=alarms.MAX_PAGE),
    )
    mine = [a for a in page.items if _concerns(a, resident)]
    return mine[:RECENT]


def _concerns(alarm: AlarmSummary, resident: ResidentStatus) -> bool:
    if alarm.subject_kind == "resident":
        return alarm.subject_id == resident.id
    if alarm.device_id is not None and alarm.device_id == resident.bracelet_id:
        return True
    return resident.site_kind == "home_alone"
