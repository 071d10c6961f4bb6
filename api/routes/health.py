"""Liveness and readiness in one: the API answers and its database does."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ConnDep
from api.errors import responses

router = APIRouter(prefix="/api/v1", tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


@router.get("/health", response_model=Health, responses=responses(503))
def health(conn: ConnDep) -> Health:
    """200 when the API can reach PostgreSQL; 503 (with Retry-After) when it cannot."""
    conn.execute("SELECT 1")
    return Health(status="ok", database="ok")
