"""The console's history and statistics filter form, turned into the inspector's
``AlarmFilter`` and into the query string of the API's CSV and PDF exports.

The form speaks as a person does: one site, kind, severity, outcome and state (empty: any),
and a period of whole days in the console's time zone, both ends included.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError

from api.inspector.models import AlarmFilter


class FilterForm(BaseModel):
    """The filter fields as the browser sends them (strings; empty means any)."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True, str_max_length=64)

    site: str = ""
    kind: str = ""
    severity: str = ""
    outcome: str = ""
    state: str = ""
    since: str = ""
    until: str = ""

    def to_filter(self, zone: ZoneInfo) -> AlarmFilter:
        """The inspector's filter; ``ValueError`` with a sentence for the person."""
        fields: dict[str, Any] = {}
        if self.site:
            fields["sites"] = (_integer(self.site, "site"),)
        if self.kind:
            fields["kinds"] = (self.kind,)
        if self.severity:
            fields["severities"] = (_integer(self.severity, "severity"),)
        if self.outcome:
            fields["outcomes"] = (self.outcome,)
        if self.state:
            fields["states"] = (self.state,)
        if self.since:
            fields["since"] = _start_of(self.since, zone, "from")
        if self.until:
            fields["until"] = _start_of(self.until, zone, "to") + timedelta(days=1)
        try:
            return AlarmFilter(**fields)
        except ValidationError as exc:
            raise ValueError("; ".join(str(e["msg"]) for e in exc.errors())) from None

    def query(self) -> str:
        """This form as a query string (for paging links)."""
        return urlencode({k: v for k, v in self.model_dump().items() if v})


def export_query(spec: AlarmFilter) -> str:
    """``spec`` as the query string of ``/api/v1/inspector/history.csv`` and friends."""
    params: dict[str, Any] = {
        "sites": list(spec.sites),
        "kinds": list(spec.kinds),
        "severities": list(spec.severities),
        "outcomes": [o.value for o in spec.outcomes],
        "states": [s.value for s in spec.states],
    }
    if spec.since:
        params["since"] = spec.since.isoformat()
    if spec.until:
        params["until"] = spec.until.isoformat()
    return urlencode({k: v for k, v in params.items() if v}, doseq=True)


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{what} must be a number; pick one from the list") from None


def _start_of(text: str, zone: ZoneInfo, what: str) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"the '{what}' date must look like 2026-11-01") from None
    return datetime.combine(day, time(), zone)
