"""The duty board: live alarms of the caller's sites with acknowledge and resolve, and each
site's residents and devices; plus one alarm's page.

The board's live part (``#live``) is one fragment, ``GET /console/board/live``. The page's
script follows the API's alarm stream and asks htmx to fetch the fragment again on each event,
so the fragment is the only thing that renders alarms: what a reload shows is what the live
update shows. Actions answer htmx with the fragment, and plain forms with a redirect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from alerts.fall_scoring import impact_window
from anxin.errors import Conflict
from api import scope
from api.alarms import fall_evidence
from api.alarms import service as alarms
from api.alarms.models import AlarmDetail, AlarmSummary, ResolveIn
from api.console import csrf
from api.console.fall_chart import impact_chart, score_scale, window_series
from api.console.render import PREFIX, ConsoleRoute, error_page, is_htmx, local_path, render
from api.console.status import display_zone, resident_statuses
from api.db import Conn
from api.deps import ConnDep, PrincipalDep, require_role
from api.errors import BadRequest, status_of
from api.inspector.health import device_health
from api.inspector.scoping import allowed_sites
from api.registry import service as registry
from api.routes.alarms import via
from api.scope import Action, Principal, Role

router = APIRouter(route_class=ConsoleRoute)

BoardUser = Annotated[Principal, Depends(require_role(Role.DUTY, Role.ADMIN))]
ACTIVE = ("open", "acknowledged")
BOARD = f"{PREFIX}/board"


def board_alarms(*, conn: Conn, principal: Principal) -> list[AlarmSummary]:
    """Active alarms, unacknowledged first, then the most severe, then the newest."""
    page = alarms.list_alarms(
        conn=conn,
        principal=principal,
        where=alarms.AlarmFilter(states=ACTIVE, limit=alarms.MAX_PAGE),
    )
    return sorted(page.items, key=lambda a: (a.state != "open", -a.severity, -a.id))


def live_context(*, conn: Conn, principal: Principal, flash: str | None = None) -> dict[str, Any]:
    """Everything the ``#live`` fragment shows."""
    sites = registry.list_sites(conn=conn, principal=principal)
    residents = defaultdict(list)
    for resident in resident_statuses(conn=conn, principal=principal):
        residents[resident.site_id].append(resident)
    devices = defaultdict(list)
    now = datetime.now(UTC)
    for device in device_health(
        conn=conn, scope=allowed_sites(conn=conn, principal=principal), now=now
    ):
        devices[device.site_id].append(device)
    return {
        "alarms": board_alarms(conn=conn, principal=principal),
        "sites": sites,
        "residents": residents,
        "devices": devices,
        "flash": flash,
        "may_resolve": scope.can(principal, Action.RESOLVE),
        "may_acknowledge": scope.can(principal, Action.ACKNOWLEDGE),
        "rendered_at": now,
    }


@router.get("/board")
def board(request: Request, principal: BoardUser, conn: ConnDep) -> Response:
    return render(
        request,
        "board.html",
        live_context(conn=conn, principal=principal),
        principal=principal,
        zone=display_zone(conn=conn, principal=principal),
    )


@router.get("/board/live")
def board_live(request: Request, principal: BoardUser, conn: ConnDep) -> Response:
    return render(
        request,
        "_live.html",
        live_context(conn=conn, principal=principal),
        principal=principal,
        zone=display_zone(conn=conn, principal=principal),
    )


@router.get("/alarms/{alarm_id}")
def alarm_page(request: Request, alarm_id: int, principal: PrincipalDep, conn: ConnDep) -> Response:
    """One alarm: what happened, its evidence, its audit trail, and the actions the caller
    may take."""
    detail = alarms.get_detail(conn=conn, principal=principal, alarm_id=alarm_id)
    return render(
        request,
        "alarm.html",
        {
            "alarm": detail,
            "fall": fall_context(conn=conn, alarm=detail),
            "may_resolve": scope.can(principal, Action.RESOLVE),
            "may_acknowledge": scope.can(principal, Action.ACKNOWLEDGE),
        },
        principal=principal,
        zone=display_zone(conn=conn, principal=principal),
    )


def fall_context(*, conn: Conn, alarm: AlarmDetail) -> dict[str, Any] | None:
    """What a fall alarm's page charts: the impact window (None when no longer stored), the
    score against the decision and the wearer's answer; None for alarms of other rules."""
    if alarm.evidence.get("rule") != fall_evidence.FALL_RULE or alarm.device_id is None:
        return None
    reading = fall_evidence.stored_window(
        conn=conn, device_id=alarm.device_id, evidence=alarm.evidence
    )
    chart = (
        None
        if reading is None
        else impact_chart(window_series(impact_window(reading)), range_g=reading.range_g)
    )
    return {
        "chart": chart,
        "scale": score_scale(alarm.evidence),
        "answer": fall_evidence.wearer_answer(conn=conn, alarm_id=alarm.id),
    }


@router.get("/alarms/{alarm_id}/resolve-form")
def resolve_form(request: Request, alarm_id: int, principal: BoardUser, conn: ConnDep) -> Response:
    """The resolve form, for the board's dialog."""
    alarm = alarms.get_summary(conn=conn, principal=principal, alarm_id=alarm_id)
    return render(
        request,
        "_resolve_form.html",
        {"alarm": alarm, "next": BOARD},
        principal=principal,
        zone=display_zone(conn=conn, principal=principal),
    )


@router.post("/alarms/{alarm_id}/acknowledge", dependencies=[Depends(csrf.verify)])
def acknowledge(
    request: Request,
    alarm_id: int,
    principal: PrincipalDep,
    conn: ConnDep,
    next: Annotated[str, Form()] = "",
) -> Response:
    """Take the alarm (duty, admin, family): escalation stops."""

    def act() -> None:
        alarms.acknowledge(conn=conn, principal=principal, alarm_id=alarm_id, via=via(principal))

    return _act(request, conn, principal, act, next)


@router.post("/alarms/{alarm_id}/resolve", dependencies=[Depends(csrf.verify)])
def resolve(
    request: Request,
    alarm_id: int,
    principal: PrincipalDep,
    conn: ConnDep,
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Close the alarm with its outcome and a note (duty, admin)."""

    def act() -> None:
        try:
            body = ResolveIn(outcome=outcome, note=note)
        except ValidationError:
            raise BadRequest(
                "choose an outcome (real, false alarm or test) and resolve again"
            ) from None
        alarms.resolve(
            conn=conn,
            principal=principal,
            alarm_id=alarm_id,
            outcome=body.outcome,
            note=body.note,
            via=via(principal),
        )

    return _act(request, conn, principal, act, next)


def _act(
    request: Request, conn: Conn, principal: Principal, act: Callable[[], None], next: str
) -> Response:
    """Run an alarm action. htmx gets the board's fragment, with a note when the action was
    refused because the alarm changed meanwhile; a plain form goes back where it came from."""
    try:
        act()
    except (Conflict, BadRequest) as exc:
        if not is_htmx(request):
            return error_page(request, status_of(exc), str(exc))
        flash: str | None = str(exc)
    else:
        if not is_htmx(request):
            return RedirectResponse(local_path(next, BOARD), status_code=303)
        flash = None
    return render(
        request,
        "_live.html",
        live_context(conn=conn, principal=principal, flash=flash),
        principal=principal,
        zone=display_zone(conn=conn, principal=principal),
    )
