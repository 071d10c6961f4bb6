"""Inspectors' pages (also open to duty staff for their sites, and to admins): incident
history with filters, response-time statistics with charts, hazard rectification records,
and links to the API's CSV and PDF exports of what is shown.

All reads go through ``api.inspector``'s query functions with the caller's allowed sites, the
same calls the inspector API makes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request, Response

from alerts.models import AlarmKind
from api.console.filters import FilterForm, export_query
from api.console.render import ConsoleRoute, render
from api.console.status import display_zone
from api.db import Conn
from api.deps import ConnDep, require_role
from api.inspector import rectification
from api.inspector.history import history_page
from api.inspector.models import (
    AlarmFilter,
    AlarmState,
    Cursor,
    Outcome,
    RectificationFilter,
    RectificationState,
)
from api.inspector.scoping import allowed_sites
from api.inspector.stats import statistics
from api.registry import service as registry
from api.scope import Principal, Role

router = APIRouter(route_class=ConsoleRoute)

Reader = Annotated[Principal, Depends(require_role(Role.INSPECTOR, Role.ADMIN, Role.DUTY))]
Filters = Annotated[FilterForm, Query()]
PAGE = 50


def _form_context(conn: Conn, principal: Principal, form: FilterForm) -> dict[str, Any]:
    return {
        "form": form,
        "sites": registry.list_sites(conn=conn, principal=principal),
        "kinds": [k.value for k in AlarmKind],
        "outcomes": [o.value for o in Outcome],
        "states": [s.value for s in AlarmState],
    }


def _spec(form: FilterForm, zone: ZoneInfo) -> tuple[AlarmFilter, str | None]:
    """The filter, or no filter and the reason the form could not be read."""
    try:
        return form.to_filter(zone), None
    except ValueError as exc:
        return AlarmFilter(), str(exc)


@router.get("/history")
def history(
    request: Request,
    principal: Reader,
    conn: ConnDep,
    form: Filters,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    zone = display_zone(conn=conn, principal=principal)
    spec, problem = _spec(form, zone)
    after = None
    if cursor:
        try:
            after = Cursor.decode(cursor)
        except ValueError as exc:
            problem = str(exc)
    page = history_page(
        conn=conn,
        scope=allowed_sites(conn=conn, principal=principal),
        spec=spec,
        limit=PAGE,
        after=after,
    )
    context = {
        **_form_context(conn, principal, form),
        "page": page,
        "problem": problem,
        "export": export_query(spec),
        "form_query": form.query(),
    }
    return render(
        request,
        "history.html",
        context,
        principal=principal,
        zone=zone,
        status_code=400 if problem else 200,
    )


@router.get("/statistics")
def statistics_page(request: Request, principal: Reader, conn: ConnDep, form: Filters) -> Response:
    zone = display_zone(conn=conn, principal=principal)
    spec, problem = _spec(form, zone)
    stats = statistics(
        conn=conn,
        scope=allowed_sites(conn=conn, principal=principal),
        spec=spec,
        now=datetime.now(UTC),
    )
    context = {
        **_form_context(conn, principal, form),
        "stats": stats,
        "problem": problem,
        "export": export_query(spec),
    }
    return render(
        request,
        "statistics.html",
        context,
        principal=principal,
        zone=zone,
        status_code=400 if problem else 200,
    )


@router.get("/rectifications")
def rectifications(
    request: Request,
    principal: Reader,
    conn: ConnDep,
    state: Annotated[RectificationState | None, Query()] = None,
    overdue: bool = False,
) -> Response:
    spec = RectificationFilter(states=(state,) if state else (), overdue_only=overdue)
    records = rectification.list_records(
        conn=conn,
        scope=allowed_sites(conn=conn, principal=principal),
        spec=spec,
        now=datetime.now(UTC),
    )
    context = {
        "records": records,
        "state": state.value if state else "",
        "overdue": overdue,
        "states": [s.value for s in RectificationState],
    }
    return render(
        request,
        "rectifications.html",
        context,
        principal=principal,
        zone=display_zone(conn=conn, principal=principal),
    )
