"""``GET /api/v1/stream``: live alarm events as server-sent events, scoped to the caller.

Each event's ``id`` is its ``alarm_events.id``. A client that reconnects with
``Last-Event-ID`` (browsers' EventSource do so by themselves) receives exactly the events it
missed, then follows live. Without it the stream starts at the present (replaying the last few
seconds, see ``api.stream.cursor.start_position``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from psycopg_pool import ConnectionPool
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from anxin.settings import Settings
from api.db import Conn
from api.deps import Credential, CredentialDep, PrincipalDep
from api.errors import responses
from api.stream.cursor import Batch, Cursor, StreamEvent, read, start_position
from api.stream.wakeup import Wakeup

router = APIRouter(prefix="/api/v1", tags=["stream"])

PING_S = 15.0
"""Comment lines keep proxies from closing an idle stream and reveal dead clients; sent at
least this often (and as often as the stream polls, when that is shorter)."""


def _read(
    pool: ConnectionPool[Conn], settings: Settings, credential: Credential, cursor: Cursor
) -> Batch | None:
    """One look at the table, as the caller is now: None (the stream ends) once the credential
    expired or was revoked (logged out everywhere) or the user was deactivated."""
    with pool.connection(timeout=10) as conn:
        current = credential.principal(conn, settings)
        if current is None:
            return None
        if cursor.last_id < 0:
            cursor.last_id = start_position(conn=conn)
        return read(conn=conn, principal=current, cursor=cursor)


async def _events(
    pool: ConnectionPool[Conn],
    settings: Settings,
    wakeup: Wakeup,
    credential: Credential,
    cursor: Cursor,
) -> AsyncIterator[ServerSentEvent]:
    waiter = wakeup.subscribe()
    try:
        while True:
            waiter.clear()
            batch = await run_in_threadpool(_read, pool, settings, credential, cursor)
            if batch is None:
                return
            for event in batch.events:
                yield _sse(event)
            if batch.more:
                continue
            gap_wait = cursor.gap_wait_s(time.monotonic())
            poll_s = settings.api_stream_poll_s
            timeout = poll_s if gap_wait is None else min(poll_s, gap_wait + 0.05)
            try:
                await asyncio.wait_for(waiter.wait(), timeout)
            except TimeoutError:
                pass
    finally:
        wakeup.unsubscribe(waiter)


def _sse(event: StreamEvent) -> ServerSentEvent:
    return ServerSentEvent(data=event.model_dump_json(), event="alarm", id=str(event.event_id))


@router.get(
    "/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "text/event-stream; each `alarm` event's data is a StreamEvent",
            "content": {"text/event-stream": {}},
        },
        **responses(401),
    },
)
def stream(
    request: Request,
    principal: PrincipalDep,
    credential: CredentialDep,
    last_event_id: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=0, description="resume after this event")
    ] = None,
    after: Annotated[
        int | None, Query(ge=0, description="resume after this event (for clients without headers)")
    ] = None,
) -> EventSourceResponse:
    """Alarm events the caller may see, live; resumable with ``Last-Event-ID``.

    ``principal`` answers 401 before the stream opens; from then on every read checks
    ``credential`` again, so a logout everywhere or an expiry ends the stream."""
    resume = last_event_id if last_event_id is not None else after
    cursor = Cursor(last_id=-1 if resume is None else resume)
    state = request.app.state
    return EventSourceResponse(
        _events(state.pool, state.settings, state.wakeup, credential, cursor),
        ping=min(PING_S, state.settings.api_stream_poll_s),
    )
