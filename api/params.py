"""Parameter types shared by routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator


def _iso_8601(value: object) -> object:
    """Only ISO 8601 text (pydantic alone would also read "0.5" as a Unix time, which the
    OpenAPI ``date-time`` format does not allow); a time without an offset is UTC."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("give an ISO 8601 date-time, e.g. 2026-11-23T08:00:00+08:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an ISO 8601 date-time, e.g. 2026-11-23T08:00:00+08:00"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


IsoDatetime = Annotated[datetime, BeforeValidator(_iso_8601)]
"""A ``datetime`` query parameter that accepts exactly what its OpenAPI format promises."""
