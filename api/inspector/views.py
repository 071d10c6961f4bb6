"""HTTP face of the inspector queries: ``/api/v1/inspector/...``.

Reading (history, statistics, unacknowledged alarms, device health, possible falls the
bracelets asked about, rectification records) is
open to inspectors and admins, and to duty staff for their own sites; family members are
refused. The caller's scope becomes a list of site ids in one place (``scoping``), and
every query reads only those. Rectification steps go to the people who take them: anyone of
those roles records a hazard or assigns it, duty staff and admins report it rectified,
inspectors and admins verify.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response, StreamingResponse

from api.db import Conn
from api.deps import ConnDep, require_role
from api.errors import responses
from api.inspector import export, rectification
from api.inspector.filters import effective_sites, site_names
from api.inspector.health import device_health
from api.inspector.history import history_page, iter_history, unacknowledged
from api.inspector.models import (
    AlarmFilter,
    AlarmRecord,
    DeviceHealth,
    FallPrompt,
    FallPromptQuery,
    HistoryPage,
    HistoryQuery,
    Rectification,
    RectificationAssign,
    RectificationCreate,
    RectificationFilter,
    RectificationNote,
    RectificationVerify,
    Statistics,
)
from api.inspector.prompts import fall_prompts
from api.inspector.scoping import allowed_sites
from api.inspector.stats import statistics
from api.scope import Principal, Role

router = APIRouter(prefix="/api/v1/inspector", tags=["inspector"])

Reader = Annotated[Principal, Depends(require_role(Role.INSPECTOR, Role.ADMIN, Role.DUTY))]
Verifier = Annotated[Principal, Depends(require_role(Role.INSPECTOR, Role.ADMIN))]
Rectifier = Annotated[Principal, Depends(require_role(Role.DUTY, Role.ADMIN))]
FilterQuery = Annotated[AlarmFilter, Query()]
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1, description="id of the rectification record")]

_READ = responses(401, 403)
_STEP = responses(401, 403, 404, 409)


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/history", responses=_READ)
def get_history(
    conn: ConnDep, principal: Reader, q: Annotated[HistoryQuery, Query()]
) -> HistoryPage:
    """Alarms newest first, filtered; follow ``next_cursor`` for the next page."""
    return history_page(
        conn=conn,
        scope=_scope(conn, principal),
        spec=q.spec(),
        limit=q.limit,
        after=q.after(),
    )


@router.get(
    "/history.csv",
    response_class=StreamingResponse,
    responses={**_READ, 200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8 with BOM"}},
)
def get_history_csv(conn: ConnDep, principal: Reader, spec: FilterQuery) -> StreamingResponse:
    """Every matching alarm as CSV, streamed page by page (UTF-8 with a BOM, for Excel)."""
    records = iter_history(conn=conn, scope=_scope(conn, principal), spec=spec)
    return _csv(export.history_csv(records), "anxin-history.csv")


@router.get(
    "/history.pdf",
    response_class=Response,
    responses={**_READ, 200: {"content": {"application/pdf": {}}, "description": "PDF report"}},
)
def get_history_pdf(conn: ConnDep, principal: Reader, spec: FilterQuery) -> Response:
    """The newest matching alarms (at most 2,000; the CSV has all) as a PDF report."""
    sites = effective_sites(_scope(conn, principal), spec.sites)
    rows = list(islice(iter_history(conn=conn, scope=sites, spec=spec), export.PDF_MAX_ROWS + 1))
    pdf = export.history_pdf(
        rows[: export.PDF_MAX_ROWS],
        filters=export.filter_lines(spec, _uids(conn, sites)),
        more=len(rows) > export.PDF_MAX_ROWS,
        generated_at=_now(),
        font=export.cjk_font(),
    )
    return _pdf(pdf, "anxin-history.pdf")


@router.get("/statistics", responses=_READ)
def get_statistics(conn: ConnDep, principal: Reader, spec: FilterQuery) -> Statistics:
    """Counts and time to acknowledge / resolve (p50, p90) in total and per site, shift
    (day 08-16, evening 16-24, night 00-08, site local time) and month."""
    return statistics(conn=conn, scope=_scope(conn, principal), spec=spec, now=_now())


@router.get(
    "/statistics.csv",
    response_class=StreamingResponse,
    responses={**_READ, 200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8 with BOM"}},
)
def get_statistics_csv(conn: ConnDep, principal: Reader, spec: FilterQuery) -> StreamingResponse:
    """The statistics as CSV: one line for the total and per site, shift and month."""
    stats = statistics(conn=conn, scope=_scope(conn, principal), spec=spec, now=_now())
    return _csv(export.statistics_csv(stats), "anxin-statistics.csv")


@router.get(
    "/statistics.pdf",
    response_class=Response,
    responses={**_READ, 200: {"content": {"application/pdf": {}}, "description": "PDF report"}},
)
def get_statistics_pdf(conn: ConnDep, principal: Reader, spec: FilterQuery) -> Response:
    """The statistics as a PDF report."""
    sites = effective_sites(_scope(conn, principal), spec.sites)
    now = _now()
    stats = statistics(conn=conn, scope=sites, spec=spec, now=now)
    pdf = export.statistics_pdf(
        stats,
        filters=export.filter_lines(spec, _uids(conn, sites)),
        generated_at=now,
        font=export.cjk_font(),
    )
    return _pdf(pdf, "anxin-statistics.pdf")


@router.get("/unacknowledged", responses=_READ)
def get_unacknowledged(
    conn: ConnDep,
    principal: Reader,
    older_than_s: Annotated[int, Query(ge=0, le=86400 * 30)] = 60,
) -> list[AlarmRecord]:
    """Open alarms nobody has acknowledged for longer than ``older_than_s``, oldest first."""
    return unacknowledged(
        conn=conn,
        scope=_scope(conn, principal),
        now=_now(),
        older_than=timedelta(seconds=older_than_s),
    )


@router.get("/devices", responses=_READ)
def get_device_health(
    conn: ConnDep, principal: Reader, problems_only: bool = False
) -> list[DeviceHealth]:
    """Active devices with their last reading, battery and self-test, and what is wrong."""
    return device_health(
        conn=conn, scope=_scope(conn, principal), now=_now(), problems_only=problems_only
    )


@router.get("/fall-prompts", responses=_READ)
def list_fall_prompts(
    conn: ConnDep, principal: Reader, spec: Annotated[FallPromptQuery, Query()]
) -> list[FallPrompt]:
    """Doubtful falls, newest impact first: whether the bracelet asked, what the wearer
    answered (``cancelled``: "I'm OK") and the fall alarm each other outcome raised."""
    return fall_prompts(conn=conn, scope=_scope(conn, principal), spec=spec)


@router.get("/rectifications", responses=_READ)
def list_rectifications(
    conn: ConnDep, principal: Reader, spec: Annotated[RectificationFilter, Query()]
) -> list[Rectification]:
    """Hazard records, overdue first, then by deadline."""
    return rectification.list_records(
        conn=conn, scope=_scope(conn, principal), spec=spec, now=_now()
    )


@router.get("/rectifications/overdue", responses=_READ)
def list_overdue(conn: ConnDep, principal: Reader) -> list[Rectification]:
    """Hazards not rectified by their deadline."""
    spec = RectificationFilter(overdue_only=True)
    return rectification.list_records(
        conn=conn, scope=_scope(conn, principal), spec=spec, now=_now()
    )


@router.get("/rectifications/{item_id}", responses=responses(401, 403, 404))
def get_rectification(conn: ConnDep, principal: Reader, item_id: ItemId) -> Rectification:
    return rectification.get(conn=conn, scope=_scope(conn, principal), item_id=item_id, now=_now())


@router.post("/rectifications", status_code=201, responses=responses(401, 403, 404))
def create_rectification(
    conn: ConnDep, principal: Reader, item: RectificationCreate
) -> Rectification:
    """Record a hazard found at a site (state 'found')."""
    return rectification.create(
        conn=conn,
        scope=_scope(conn, principal),
        item=item,
        actor=principal.actor,
        now=_now(),
    )


@router.post("/rectifications/{item_id}/assign", responses=_STEP)
def assign_rectification(
    conn: ConnDep, principal: Reader, item_id: ItemId, step: RectificationAssign
) -> Rectification:
    """Name the responsible person and the deadline (state 'assigned'; again to reassign)."""
    return rectification.assign(
        conn=conn,
        scope=_scope(conn, principal),
        item_id=item_id,
        step=step,
        actor=principal.actor,
        now=_now(),
    )


@router.post("/rectifications/{item_id}/rectify", responses=_STEP)
def rectify_rectification(
    conn: ConnDep, principal: Rectifier, item_id: ItemId, step: RectificationNote
) -> Rectification:
    """Report the hazard fixed, saying what was done (state 'rectified')."""
    return rectification.rectify(
        conn=conn,
        scope=_scope(conn, principal),
        item_id=item_id,
        note=step.note,
        actor=principal.actor,
        now=_now(),
    )


@router.post("/rectifications/{item_id}/verify", responses=_STEP)
def verify_rectification(
    conn: ConnDep, principal: Verifier, item_id: ItemId, step: RectificationVerify
) -> Rectification:
    """Close the loop (state 'verified'), or send it back to 'assigned' when not passed."""
    return rectification.verify(
        conn=conn,
        scope=_scope(conn, principal),
        item_id=item_id,
        step=step,
        actor=principal.actor,
        now=_now(),
    )


def _scope(conn: Conn, principal: Principal) -> list[int]:
    return allowed_sites(conn=conn, principal=principal)


def _uids(conn: Conn, sites: list[int]) -> list[str]:
    return sorted(uid for uid, _ in site_names(conn=conn, ids=sites).values())


def _csv(lines: Iterator[str], filename: str) -> StreamingResponse:
    def body() -> Iterator[bytes]:
        yield "\ufeff".encode()
        for line in lines:
            yield line.encode()

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _pdf(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
