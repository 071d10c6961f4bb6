"""What several dashboards share: the site variable, severity names and rule thresholds.

Thresholds drawn on panels are the platform defaults of the detection rules (``RuleConfig``),
read here rather than copied, so that a dashboard line sits where the alarm actually fires;
per-site overrides are not drawn.
"""

from __future__ import annotations

import textwrap

from alerts.models import Severity
from alerts.rules.config import RuleConfig
from dashboards.model import Variable

RULES = RuleConfig()

SITE = Variable(
    name="site",
    label="Site",
    sql="SELECT uid AS __value, name AS __text FROM sites ORDER BY name, uid",
)


def severity_name(column: str) -> str:
    """SQL turning a severity number into its name (``Severity``), e.g. 4 → 'critical'."""
    cases = " ".join(f"WHEN {s.value} THEN '{s.name.lower()}'" for s in Severity)
    return f"CASE {column} {cases} END"


def nest(fragment: str, indent: int) -> str:
    """An SQL fragment placed inside a query at ``indent`` spaces, so the whole query reads
    cleanly in Grafana's editor (the first line takes the indentation of its placeholder)."""
    return textwrap.indent(textwrap.dedent(fragment).strip(), " " * indent).lstrip()
