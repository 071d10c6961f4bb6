"""CSV and PDF renderings, without the database."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest

from api.inspector.export import (
    HISTORY_COLUMNS,
    filter_lines,
    history_csv,
    history_pdf,
    statistics_csv,
    statistics_pdf,
)
from api.inspector.models import AlarmFilter, AlarmRecord, ResponseStats, Statistics
from tests.fix_inspector import T0

UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _record(**changes) -> AlarmRecord:
    values = {
        "id": 7,
        "raised_at": T0,
        "site_id": 1,
        "site_uid": "xh",
        "site_name": "西湖敬老院",
        "kind": "fall",
        "severity": 4,
        "state": "resolved",
        "title": "Fall in room 101",
        "device_uid": "b-1",
        "occurrences": 1,
        "acknowledged_at": T0 + timedelta(seconds=12),
        "acknowledged_by": "nurse",
        "resolved_at": T0 + timedelta(minutes=5),
        "resolved_by": "nurse",
        "outcome": "real",
        "note": "helped up",
        "cleared_at": None,
        "silenced": False,
        "ack_s": 12.0,
        "resolve_s": 300.0,
    }
    return AlarmRecord(**{**values, **changes})


def _stats() -> Statistics:
    row = ResponseStats(
        group="site",
        key="xh",
        label="西湖敬老院",
        alarms=3,
        acknowledged=2,
        resolved=2,
        false_alarms=1,
        unacknowledged_60s=1,
        ack_p50_s=12.5,
        ack_p90_s=40.0,
        resolve_p50_s=300.0,
        resolve_p90_s=None,
    )
    total = ResponseStats.model_validate(
        {**row.model_dump(), "group": "total", "key": "all", "label": "all sites"}
    )
    return Statistics(total=total, by_site=[row], by_shift=[], by_month=[])


def test_history_csv_has_one_header_and_a_row_per_alarm():
    text = "".join(history_csv([_record(), _record(id=8, outcome=None, ack_s=None)]))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == HISTORY_COLUMNS
    first = dict(zip(HISTORY_COLUMNS, rows[1], strict=True))
    assert first["raised_at"] == "2026-11-02T02:00:00+00:00"
    assert (first["site_name"], first["ack_s"], first["outcome"]) == ("西湖敬老院", "12.0", "real")
    second = dict(zip(HISTORY_COLUMNS, rows[2], strict=True))
    assert (second["id"], second["ack_s"], second["outcome"]) == ("8", "", "")


def test_csv_cells_cannot_smuggle_a_spreadsheet_formula():
    text = "".join(history_csv([_record(title='=HYPERLINK("http://x")', note="+1")]))
    row = dict(zip(HISTORY_COLUMNS, list(csv.reader(io.StringIO(text)))[1], strict=True))
    assert row["title"].startswith("'=") and row["note"] == "'+1"


def test_statistics_csv_lists_the_total_first():
    rows = list(csv.DictReader(io.StringIO("".join(statistics_csv(_stats())))))
    assert [(r["group"], r["key"]) for r in rows] == [("total", "all"), ("site", "xh")]
    assert (rows[1]["ack_p50_s"], rows[1]["resolve_p90_s"]) == ("12.5", "")


def test_pdf_without_a_cjk_font_still_renders_chinese_names_as_placeholders():
    pdf = history_pdf([_record()], filters=["sites: xh"], more=False, generated_at=T0)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    stats = statistics_pdf(_stats(), filters=[], generated_at=T0)
    assert stats.startswith(b"%PDF-")


@pytest.mark.skipif(not UNICODE_FONT.exists(), reason="needs a TrueType font (DejaVu Sans)")
def test_pdf_embeds_a_unicode_font_when_one_is_given():
    pdf = history_pdf([_record()] * 50, filters=[], more=True, generated_at=T0, font=UNICODE_FONT)
    assert pdf.startswith(b"%PDF-") and b"FontFile2" in pdf


def test_filter_lines_describe_the_report():
    spec = AlarmFilter(kinds=("fall", "sos"), severities=(4,), since=T0)
    assert filter_lines(spec, ["xh"]) == [
        "sites: xh",
        "period: 2026-11-02 10:00 to now",
        "kinds: fall, sos",
        "severities: 4",
    ]
