"""The fall alarm's page: the impact window charted with the score, the band and the wearer's
answer; a notice when the window is gone; nothing of it on other alarms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from psycopg.types.json import Jsonb

from tests.fix_api import World
from tests.test_console_pages import log_in
from tests.test_fall_chart import fall_on_the_side

IMPACT_MS = 1_796_000_000_123
RATE_HZ = 50.0
START_MS = -4000
EVIDENCE = {
    "rule": "fall_classifier",
    "score": 0.9123,
    "threshold": 0.5,
    "model_version": "fall-test-1",
    "margin_logit": 2.34,
    "ask_band_logit": [-2.0, 2.0],
    "peak_g": 6.0,
    "rate_hz": RATE_HZ,
    "range_g": 8.0,
    "impact_ts": IMPACT_MS,
    "seq": 41,
}


def make_fall_alarm(conn, world: World, *, evidence: dict[str, object] = EVIDENCE) -> int:
    """The seeded fall alarm of r-ha-1 (bracelet b-ha-1), as the fall classifier raises it."""
    alarm_id = world.alarms["fall_ha1"]
    conn.execute("UPDATE alarms SET evidence = %s WHERE id = %s", (Jsonb(evidence), alarm_id))
    return alarm_id


def store_window(conn, world: World) -> None:
    """The window ingest stored for the impact: still, 6 g at 0, then lying on the side."""
    window = fall_on_the_side(RATE_HZ)
    assert window.t_s[0] * 1000 == pytest.approx(START_MS)
    conn.execute(
        """INSERT INTO impact_window (ts, device_id, seq, rate_hz, range_g, start_ms, acc)
           VALUES (to_timestamp(%s / 1000.0), %s, 41, %s, 8, %s, %s)""",
        (IMPACT_MS, world.devices["b-ha-1"], RATE_HZ, START_MS, window.acc_g.ravel().tolist()),
    )


def open_alarm(client, alarm_id: int, lang: str) -> str:
    log_in(client, "duty_a")
    client.cookies.set("anxin_lang", lang)
    page = client.get(f"/console/alarms/{alarm_id}")
    assert page.status_code == 200, page.text
    return page.text


@pytest.mark.parametrize(
    ("lang", "score", "threshold", "decision"),
    [
        ("zh", "评分 0.912", "阈值 0.500", "明确跌倒"),
        ("en", "Score 0.912", "threshold 0.500", "a clear fall, alarmed at once"),
    ],
)
def test_a_fall_alarm_charts_its_window_with_the_score(
    client, world, conn, lang, score, threshold, decision
):
    alarm_id = make_fall_alarm(conn, world)
    store_window(conn, world)
    page = open_alarm(client, alarm_id, lang)
    assert '<polyline points="' in page and 'class="series-g"' in page
    assert 'class="series-tilt"' in page and 'class="range"' in page
    assert score in page and threshold in page and decision in page
    assert "0.119–0.881" in page  # the ask band of ±2 log-odds around 0.5
    assert 'data-fall-window="missing"' not in page
    assert 'data-fall-outcome="not_asked"' in page
    assert ("90°" in page) if lang == "zh" else ("about 90°" in page)


def test_a_fall_alarm_whose_window_is_gone_says_so(client, world, conn):
    alarm_id = make_fall_alarm(conn, world)
    page = open_alarm(client, alarm_id, "en")
    assert 'data-fall-window="missing"' in page and "no longer stored" in page
    assert "<polyline" not in page
    assert "Score 0.912" in page


def test_other_alarms_have_no_chart(client, world):
    page = open_alarm(client, world.alarms["sos_ha2"], "en")
    assert "<polyline" not in page and "fall-chart" not in page
    assert "Impact window" not in page


def test_the_wearers_answer_is_shown_when_they_were_asked(client, world, conn):
    evidence = {**EVIDENCE, "score": 0.6, "prompt": {"id": "p-1", "outcome": "no_answer"}}
    alarm_id = make_fall_alarm(conn, world, evidence=evidence)
    store_window(conn, world)
    impact = datetime.fromtimestamp(IMPACT_MS / 1000, tz=UTC)
    conn.execute(
        """INSERT INTO fall_prompts (uid, device_id, site_id, impact_at, score, threshold,
                                     asked_at, deadline_at, outcome, closed_at, alarm_id)
           VALUES ('p-1', %s, %s, %s, 0.6, 0.5, %s, %s, 'no_answer', %s, %s)""",
        (
            world.devices["b-ha-1"],
            world.sites["ha"],
            impact,
            impact + timedelta(seconds=10),
            impact + timedelta(seconds=40),
            impact + timedelta(seconds=40),
            alarm_id,
        ),
    )
    english = open_alarm(client, alarm_id, "en")
    assert 'data-fall-outcome="no_answer"' in english
    assert "The wearer did not answer in time." in english
    assert "40 s after the impact" in english and "the wearer is asked first" in english
    chinese = open_alarm(client, alarm_id, "zh")
    assert "佩戴者在规定时间内没有回答" in chinese and "撞击后 40 秒" in chinese
