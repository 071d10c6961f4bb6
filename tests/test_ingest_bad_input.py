"""Every kind of bad input ends as a dead-letter row (reason + raw bytes) or an absorbed
duplicate, through the real broker and database, and the service keeps running."""

from __future__ import annotations

import json

import psycopg
import pytest

from anxin import registry
from tests.helpers import (
    IngestHarness,
    Publisher,
    count,
    now_ms,
    register_bracelet,
    vitals,
    wait_until,
)

DAY_MS = 86_400_000
DEAD_OF_SITE = "SELECT count(*) FROM dead_letter WHERE topic LIKE %s"


@pytest.fixture
def small_ingest(db_url, mqtt_url):
    harness = IngestHarness(db_url=db_url, mqtt_url=mqtt_url, ingest_max_payload_bytes=4096)
    harness.start()
    yield harness
    harness.close()


def _cases(site: str, dev: str, gas: str, off: str) -> list[tuple[str, str, bytes, str]]:
    base = f"anxin/v1/{site}/{dev}"
    t = now_ms()
    big = json.dumps({"kind": "vitals", "seq": 1, "ts": t, "detail": "x" * 5000}).encode()
    return [
        ("malformed JSON", f"{base}/reading", b'{"kind": "vitals", "seq": 1,', "malformed_json"),
        ("empty payload", f"{base}/reading", b"", "malformed_json"),
        (
            "wrong type",
            f"{base}/reading",
            json.dumps({"kind": "vitals", "seq": 2, "ts": t, "hr": "seventy"}).encode(),
            "invalid_payload",
        ),
        (
            "unknown kind",
            f"{base}/reading",
            json.dumps({"kind": "teleport", "seq": 3, "ts": t}).encode(),
            "invalid_payload",
        ),
        (
            "heart rate 900",
            f"{base}/reading",
            json.dumps({"kind": "vitals", "seq": 4, "ts": t, "hr": 900}).encode(),
            "out_of_range",
        ),
        (
            "LEL 250 %",
            f"anxin/v1/{site}/{gas}/reading",
            json.dumps({"kind": "env", "seq": 5, "ts": t, "lel_pct": 250}).encode(),
            "out_of_range",
        ),
        (
            "negative sequence",
            f"{base}/reading",
            json.dumps({"kind": "vitals", "seq": -1, "ts": t}).encode(),
            "out_of_range",
        ),
        ("unknown device", f"anxin/v1/{site}/ghost-device/reading", vitals(6), "unknown_device"),
        (
            "topic names another site",
            f"anxin/v1/other-site/{dev}/reading",
            vitals(7),
            "identity_mismatch",
        ),
        (
            "payload names another device",
            f"{base}/reading",
            json.dumps({"kind": "vitals", "seq": 8, "ts": t, "dev": "someone-else"}).encode(),
            "identity_mismatch",
        ),
        (
            "vitals from a gas sensor",
            f"anxin/v1/{site}/{gas}/reading",
            vitals(9),
            "kind_not_allowed",
        ),
        ("deactivated device", f"anxin/v1/{site}/{off}/reading", vitals(10), "inactive_device"),
        ("oversize payload", f"{base}/reading", big, "oversize"),
        ("clock 2 days ahead", f"{base}/reading", vitals(11, ts=t + 2 * DAY_MS), "clock_skew"),
        ("clock 3 days behind", f"{base}/reading", vitals(12, ts=t - 3 * DAY_MS), "clock_skew"),
        ("unknown channel", f"{base}/telemetry", vitals(13), "bad_topic"),
    ]


def test_each_bad_input_is_dead_lettered_with_reason_and_raw_bytes(db_url, mqtt_url, small_ingest):
    site, dev = register_bracelet(db_url)
    _, gas = register_bracelet(db_url, site=site, kind="gas")
    _, off = register_bracelet(db_url, site=site)
    with psycopg.connect(db_url) as c:
        registry.set_device_active(conn=c, uid=off, active=False)
        c.commit()
    pub = Publisher(mqtt_url)
    cases = _cases(site, dev, gas, off)
    for _, topic, payload, _ in cases:
        pub.publish(topic, payload)
    pub.publish(f"anxin/v1/{site}/{dev}/reading", vitals(100))
    wait_until(
        lambda: count(db_url, "SELECT count(*) FROM reading_vitals WHERE seq = 100") == 1,
        what="the valid reading sent after the bad ones",
    )
    # the shared broker may hold retained messages of other runs: look only at this test's topics
    topics = [topic for _, topic, _, _ in cases]
    mine = "SELECT {} FROM dead_letter WHERE topic = ANY(%s)"
    wait_until(
        lambda: count(db_url, mine.format("count(*)"), topics) >= len(cases),
        what="all dead letters",
    )
    with psycopg.connect(db_url) as c:
        rows = c.execute(
            mine.format("topic, reason, payload, detail") + " ORDER BY id", (topics,)
        ).fetchall()
    assert len(rows) == len(cases)
    for (name, topic, payload, reason), (got_topic, got_reason, got_payload, detail) in zip(
        cases, rows, strict=True
    ):
        assert (got_topic, got_reason) == (topic, reason), name
        assert bytes(got_payload) == payload, name
        assert detail, name
    assert count(db_url, "SELECT count(*) FROM reading_vitals") == 1
    pub.close()


def test_duplicates_are_absorbed_and_counted(db_url, mqtt_url, ingest):
    site, dev = register_bracelet(db_url)
    pub = Publisher(mqtt_url)
    t = now_ms()
    topic = f"anxin/v1/{site}/{dev}/reading"
    for _ in range(3):
        pub.publish(topic, vitals(1, ts=t))
    pub.publish(
        f"anxin/v1/{site}/{dev}/batch",
        b'{"readings": [' + vitals(1, ts=t) + b"," + vitals(2, ts=t) + b"]}",
    )
    wait_until(lambda: ingest.service.totals.duplicates >= 3, what="3 duplicates absorbed")
    assert count(db_url, "SELECT count(*) FROM reading_vitals") == 2
    assert ingest.service.totals.duplicates == 3
    assert count(db_url, DEAD_OF_SITE, f"anxin/v1/{site}/%") == 0
    pub.close()


def test_a_bad_reading_does_not_sink_its_batch(db_url, mqtt_url, ingest):
    site, dev = register_bracelet(db_url)
    pub = Publisher(mqtt_url)
    t = now_ms()
    readings = [
        {"kind": "vitals", "seq": 1, "ts": t, "hr": 70},
        {"kind": "vitals", "seq": 2, "ts": t, "hr": 900},
        {"kind": "vitals", "seq": 3, "ts": t + 5 * DAY_MS},
        {"kind": "heartbeat", "seq": 4, "ts": t, "interval_s": 60, "battery": 80},
    ]
    payload = json.dumps({"readings": readings}).encode()
    pub.publish(f"anxin/v1/{site}/{dev}/batch", payload)
    wait_until(lambda: count(db_url, DEAD_OF_SITE, f"anxin/v1/{site}/%") == 2, what="2 dead")
    assert count(db_url, "SELECT count(*) FROM reading_vitals") == 1
    assert count(db_url, "SELECT count(*) FROM reading_heartbeat") == 1
    with psycopg.connect(db_url) as c:
        rows = dict(
            c.execute(
                "SELECT reason, detail FROM dead_letter WHERE topic LIKE %s",
                (f"anxin/v1/{site}/%",),
            ).fetchall()
        )
    assert "[1]" in rows["out_of_range"]
    assert "[2]" in rows["clock_skew"]
    pub.close()


def test_a_device_registered_after_start_is_not_called_unknown(db_url, mqtt_url, ingest):
    site, dev = register_bracelet(db_url)
    pub = Publisher(mqtt_url)
    pub.publish(f"anxin/v1/{site}/{dev}/reading", vitals(1))
    wait_until(lambda: count(db_url, "SELECT count(*) FROM reading_vitals") == 1, what="stored")
    assert count(db_url, DEAD_OF_SITE, f"anxin/v1/{site}/%") == 0
    pub.close()


def test_dead_letters_and_duplicates_are_counted_in_metrics(db_url, mqtt_url, ingest):
    from prometheus_client import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before_dead = sample("anxin_ingest_dead_letters_total", reason="malformed_json")
    before_dup = sample("anxin_ingest_duplicates_total")
    site, dev = register_bracelet(db_url)
    pub = Publisher(mqtt_url)
    topic = f"anxin/v1/{site}/{dev}/reading"
    pub.publish(topic, b"{oops")
    t = now_ms()
    pub.publish(topic, vitals(1, ts=t))
    pub.publish(topic, vitals(1, ts=t))
    wait_until(
        lambda: (
            sample("anxin_ingest_duplicates_total") >= before_dup + 1
            and sample("anxin_ingest_dead_letters_total", reason="malformed_json")
            >= before_dead + 1
        ),
        what="metrics to count the dead letter and the duplicate",
    )
    pub.close()
