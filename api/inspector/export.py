"""CSV and PDF renderings of the history and the statistics, for inspectors' reports.

CSV is produced line by line (the API streams it, however long the history), with ISO 8601
times carrying their offset. Cells that a spreadsheet would run as a formula (starting with
``= + - @``) get a leading apostrophe, so an alarm title cannot smuggle one into a report.

PDF (fpdf2) shows Chinese text only when the system has a CJK font (``fc-list :lang=zh``);
without one, the built-in Helvetica is used and characters it lacks print as "?". Install
e.g. Debian's ``fonts-noto-cjk`` or ``fonts-wqy-zenhei`` to get Chinese in PDFs.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.fonts import FontFace

from api.inspector.models import AlarmFilter, AlarmRecord, ResponseStats, Statistics

logger = logging.getLogger(__name__)

HISTORY_COLUMNS = (
    "id",
    "raised_at",
    "site_uid",
    "site_name",
    "kind",
    "severity",
    "state",
    "title",
    "device_uid",
    "occurrences",
    "acknowledged_at",
    "acknowledged_by",
    "ack_s",
    "resolved_at",
    "resolved_by",
    "resolve_s",
    "outcome",
    "note",
    "cleared_at",
    "silenced",
)
STATISTICS_COLUMNS = (
    "group",
    "key",
    "label",
    "alarms",
    "acknowledged",
    "resolved",
    "false_alarms",
    "unacknowledged_60s",
    "ack_p50_s",
    "ack_p90_s",
    "resolve_p50_s",
    "resolve_p90_s",
)
PDF_MAX_ROWS = 2000
REPORT_TZ = ZoneInfo("Asia/Shanghai")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, str):
        return "'" + value if value[:1] in ("=", "+", "-", "@") else str(value)
    return str(value)


def _line(values: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_cell(v) for v in values])
    return buffer.getvalue()


def history_csv(records: Iterable[AlarmRecord]) -> Iterator[str]:
    """The header, then one line per alarm, as they come."""
    yield _line(HISTORY_COLUMNS)
    for record in records:
        yield _line(getattr(record, column) for column in HISTORY_COLUMNS)


def statistics_csv(stats: Statistics) -> Iterator[str]:
    """The header, then the total, the per-site, per-shift and per-month rows."""
    yield _line(STATISTICS_COLUMNS)
    for row in _stats_rows(stats):
        yield _line(getattr(row, column) for column in STATISTICS_COLUMNS)


def _stats_rows(stats: Statistics) -> list[ResponseStats]:
    return [stats.total, *stats.by_site, *stats.by_shift, *stats.by_month]


@functools.cache
def cjk_font() -> Path | None:
    """A font file with Chinese glyphs, as fontconfig knows it, or None."""
    if shutil.which("fc-list") is None:
        return None
    listing = subprocess.run(
        ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    files = sorted(
        Path(line.split(":")[0].strip())
        for line in listing.splitlines()
        if line.strip().lower().endswith((".ttf:", ".otf:", ".ttc:"))
    )
    return files[0] if files else None


class _Report(FPDF):
    """A landscape A4 report with a title block and a Unicode font when one is given."""

    def __init__(self, title: str, lines: Sequence[str], font: Path | None) -> None:
        super().__init__(orientation="landscape", format="A4")
        self.unicode = font is not None
        if font is not None:
            self.add_font("report", fname=font)
            self.face = "report"
        else:
            self.face = "helvetica"
        self.set_auto_page_break(auto=True, margin=12)
        self.add_page()
        self.set_font(self.face, size=14)
        self.cell(text=self.clean(title), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.face, size=8)
        for line in lines:
            self.cell(text=self.clean(line), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def clean(self, text: str) -> str:
        """Text the chosen font can print (the core font knows Latin-1 only)."""
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def grid(
        self, header: Sequence[str], rows: Iterable[Sequence[str]], widths: Sequence[int]
    ) -> None:
        self.set_font(self.face, size=7)
        heading = FontFace(emphasis=None, fill_color=(225, 225, 225))
        with self.table(
            col_widths=tuple(widths), text_align="LEFT", line_height=4, headings_style=heading
        ) as table:
            table.row([self.clean(h) for h in header])
            for values in rows:
                table.row([self.clean(v) for v in values])


def filter_lines(spec: AlarmFilter, site_uids: Sequence[str]) -> list[str]:
    """The filters of a report in words, for its title block."""
    parts = [f"sites: {', '.join(site_uids)}"]
    if spec.since or spec.until:
        parts.append(f"period: {_local(spec.since) or '...'} to {_local(spec.until) or 'now'}")
    for name, values in (
        ("kinds", spec.kinds),
        ("severities", [str(v) for v in spec.severities]),
        ("outcomes", [v.value for v in spec.outcomes]),
        ("states", [v.value for v in spec.states]),
    ):
        if values:
            parts.append(f"{name}: {', '.join(values)}")
    return parts


def _local(moment: datetime | None) -> str:
    return moment.astimezone(REPORT_TZ).strftime("%Y-%m-%d %H:%M") if moment else ""


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def history_pdf(
    records: Sequence[AlarmRecord],
    *,
    filters: Sequence[str],
    more: bool,
    generated_at: datetime,
    font: Path | None = None,
) -> bytes:
    """The history as a table; ``more`` says the list was cut at PDF_MAX_ROWS."""
    lines = [
        f"Generated {_local(generated_at)} (times in {REPORT_TZ.key})",
        "Filters: " + ("; ".join(filters) or "none"),
        f"{len(records)} alarms"
        + (f" (first {len(records)}; the CSV export has all)" if more else ""),
    ]
    report = _Report("Anxin incident history", lines, font)
    report.grid(
        ("raised", "site", "kind", "sev", "state", "title", "ack s", "resolve s", "outcome", "by"),
        (
            (
                _local(r.raised_at),
                r.site_name,
                r.kind,
                str(r.severity),
                r.state.value,
                r.title[:80],
                _seconds(r.ack_s),
                _seconds(r.resolve_s),
                r.outcome.value if r.outcome else "",
                r.resolved_by or r.acknowledged_by or "",
            )
            for r in records
        ),
        (26, 34, 22, 8, 20, 82, 12, 14, 18, 24),
    )
    return bytes(report.output())


def statistics_pdf(
    stats: Statistics, *, filters: Sequence[str], generated_at: datetime, font: Path | None = None
) -> bytes:
    """Counts and response-time percentiles per site, shift and month."""
    lines = [
        f"Generated {_local(generated_at)} (times in {REPORT_TZ.key})",
        "Filters: " + ("; ".join(filters) or "none"),
        "Response times in seconds; unack > 60 s: alarms that waited over a minute for a person.",
    ]
    report = _Report("Anxin response-time statistics", lines, font)
    report.grid(
        (
            "group",
            "name",
            "alarms",
            "acked",
            "resolved",
            "false",
            "unack > 60 s",
            "ack p50",
            "ack p90",
            "resolve p50",
            "resolve p90",
        ),
        (
            (
                row.group.value,
                row.label,
                str(row.alarms),
                str(row.acknowledged),
                str(row.resolved),
                str(row.false_alarms),
                str(row.unacknowledged_60s),
                _seconds(row.ack_p50_s),
                _seconds(row.ack_p90_s),
                _seconds(row.resolve_p50_s),
                _seconds(row.resolve_p90_s),
            )
            for row in _stats_rows(stats)
        ),
        (18, 60, 18, 18, 18, 16, 22, 20, 20, 22, 22),
    )
    return bytes(report.output())
