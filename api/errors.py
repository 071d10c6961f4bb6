"""API errors and their one mapping to HTTP.

Routes and services raise the ``anxin.errors`` hierarchy (``NotFound``, ``Conflict``) and the
request and access errors below; ``install_error_handlers`` turns each into a status code with a
JSON body ``{"detail": "..."}`` whose text says what to do next.
"""

from __future__ import annotations

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from anxin.errors import AnxinError, Conflict, NotFound

logger = logging.getLogger(__name__)


class BadRequest(AnxinError):
    """The request is malformed in a way its schema cannot say (e.g. an uploaded file) (400)."""


class Unauthenticated(AnxinError):
    """No valid credential came with the request (401)."""


class Forbidden(AnxinError):
    """The principal is known but its role may not do this (403)."""


class TooManyAttempts(AnxinError):
    """Login refused for a while after repeated failures (429 with Retry-After)."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ErrorBody(BaseModel):
    """Every error response: one sentence that says what went wrong and what to do."""

    detail: str


_STATUS: list[tuple[type[AnxinError], int]] = [
    (BadRequest, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooManyAttempts, 429),
]


def status_of(exc: AnxinError) -> int:
    """The HTTP status of an Anxin error; an unexpected kind is a server error."""
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 500


def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AnxinError)
    status = status_of(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyAttempts):
        headers["Retry-After"] = str(exc.retry_after_s)
    return JSONResponse({"detail": str(exc)}, status_code=status, headers=headers)


def _database_down(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc)
    return JSONResponse(
        {"detail": "the database is not reachable; retry in a moment or tell the operator"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


def _unstorable(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL refused a value the schema let through (a NUL character in text, a number
    out of range): the caller's input, so 422 in FastAPI's validation-error shape."""
    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return _validation_error(f"a value cannot be stored ({first_line}); correct the input")


def _validation_error(message: str) -> JSONResponse:
    """A 422 in the shape FastAPI documents for every route that takes input."""
    return JSONResponse(
        {"detail": [{"loc": ["request"], "msg": message, "type": "value_error"}]},
        status_code=422,
    )


_BODY_PARSE_FAILED = "There was an error parsing the body"


async def _unreadable_body(request: Request, exc: Exception) -> Response:
    """FastAPI answers 400 when a body cannot even be decoded (bytes that are not UTF-8); it
    is the same mistake as malformed JSON, which it answers 422, so answer that here too."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == _BODY_PARSE_FAILED:
        return _validation_error("the body is not readable JSON (UTF-8); send a JSON object")
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AnxinError, _handle)
    app.add_exception_handler(psycopg.DataError, _unstorable)
    app.add_exception_handler(StarletteHTTPException, _unreadable_body)
    app.add_exception_handler(PoolTimeout, _database_down)
    app.add_exception_handler(psycopg.OperationalError, _database_down)


def responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries for the error statuses a route can answer, all with ``ErrorBody``."""
    text = {
        400: "The uploaded file is unusable (size, encoding or header)",
        401: "Not authenticated: log in or send a token or API key",
        403: "The role of the caller may not do this",
        404: "Not found, or not visible to the caller",
        409: "Conflicts with the current state",
        429: "Too many failed logins; retry after the Retry-After seconds",
        503: "The database is not reachable",
    }
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}
