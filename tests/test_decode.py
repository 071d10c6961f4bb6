"""The decoder's rules without broker or database: rows for good input, reasons for bad."""

from __future__ import annotations

import json

import pytest

from anxin import wire
from anxin.consumer import Message
from anxin.device_index import DeviceIndex, DeviceRef
from anxin.settings import Settings, parse_mqtt_url
from anxin.wire_checks import WireChecks
from ingest.decode import Decoder

NOW = 1_795_000_000_000


@pytest.fixture
def decoder() -> Decoder:
    index = DeviceIndex()
    index._by_uid = {
        "b1": DeviceRef(id=1, site_uid="s1", kind="bracelet", active=True),
        "g1": DeviceRef(id=2, site_uid="s1", kind="gas", active=True),
    }
    checks = WireChecks(index, max_payload_bytes=2048, max_clock_skew_s=86400)
    return Decoder(checks, now_ms=lambda: NOW)


def _msg(topic: str, payload: bytes | dict) -> Message:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Message(topic, data, 1, 1, 0)


def test_every_reading_kind_becomes_a_row_of_its_table(decoder):
    readings = [
        wire.Vitals(seq=1, ts=NOW, hr=70, spo2=97, worn=True),
        wire.Heartbeat(seq=2, ts=NOW, interval_s=60, battery=50),
        wire.Event(seq=3, ts=NOW, event="sos"),
        wire.Impact(
            seq=4, ts=NOW, rate_hz=50, range_g=8, start_ms=-40, acc=[[0, 0, 1], [0.5, 2.5, 3]]
        ),
    ]
    staged = decoder.decode(
        [_msg("anxin/v1/s1/b1/batch", wire.encode(wire.Batch(readings=readings)))]
    )
    assert not staged.dead
    assert staged.rows["reading_vitals"] == [(1, NOW, 1, 70, 97, None, None, None, None, True)]
    assert staged.rows["reading_heartbeat"] == [(1, NOW, 2, 60, 50, None, None)]
    assert staged.rows["device_event"] == [(1, NOW, 3, "sos", None, None)]
    assert staged.rows["impact_window"][0][6] == [0, 0, 1, 0.5, 2.5, 3]


def test_env_reading_and_presence(decoder):
    staged = decoder.decode(
        [
            _msg("anxin/v1/s1/g1/reading", {"kind": "env", "seq": 9, "ts": NOW, "lel_pct": 12.5}),
            _msg("anxin/v1/s1/g1/status", {"state": "offline", "ts": NOW}),
        ]
    )
    assert staged.rows["reading_env"] == [(2, NOW, 9, None, None, 12.5, None, None)]
    assert staged.rows["device_presence"] == [(2, NOW, "offline")]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("anxin/v1/s1/b1/reading", b"not json", "malformed_json"),
        (
            "anxin/v1/s1/b1/reading",
            {"kind": "vitals", "seq": 1, "ts": NOW, "hr": 900},
            "out_of_range",
        ),
        (
            "anxin/v1/s1/b1/reading",
            {"kind": "vitals", "seq": 1, "ts": NOW, "spo2": 101},
            "out_of_range",
        ),
        (
            "anxin/v1/s1/g1/reading",
            {"kind": "env", "seq": 1, "ts": NOW, "lel_pct": 250},
            "out_of_range",
        ),
        (
            "anxin/v1/s1/b1/reading",
            {"kind": "vitals", "seq": 1, "ts": NOW, "extra": 1},
            "invalid_payload",
        ),
        ("anxin/v1/s1/b1/reading", {"kind": "vitals", "seq": 1}, "invalid_payload"),
        (
            "anxin/v1/s1/b1/reading",
            {
                "kind": "impact",
                "seq": 1,
                "ts": NOW,
                "rate_hz": 50,
                "range_g": 8,
                "start_ms": 0,
                "acc": [[0, 0, 1], [0, 0]],
            },
            "out_of_range",
        ),
        (
            "anxin/v1/s1/b1/reading",
            {
                "kind": "impact",
                "seq": 1,
                "ts": NOW,
                "rate_hz": 50,
                "range_g": 8,
                "start_ms": 0,
                "acc": [[0, 0, 1], [0, 0, 1]],
                "t_ms": [0],
            },
            "invalid_payload",
        ),
        ("anxin/v1/s1/b1/batch", {"readings": []}, "out_of_range"),
        (
            "anxin/v1/s1/b1/reading",
            {"kind": "vitals", "seq": 1, "ts": NOW + 90_000_000},
            "clock_skew",
        ),
        ("anxin/v1/s1/g1/reading", {"kind": "vitals", "seq": 1, "ts": NOW}, "kind_not_allowed"),
        ("anxin/v1/s2/b1/reading", {"kind": "vitals", "seq": 1, "ts": NOW}, "identity_mismatch"),
        ("anxin/v1/s1/zz/reading", {"kind": "vitals", "seq": 1, "ts": NOW}, "unknown_device"),
        ("anxin/v2/s1/b1/reading", {"kind": "vitals", "seq": 1, "ts": NOW}, "bad_topic"),
        ("anxin/v1/s1/b1/reading", b"x" * 3000, "oversize"),
    ],
)
def test_bad_input_gets_its_reason(decoder, topic, payload, reason):
    staged = decoder.decode([_msg(topic, payload)])
    assert staged.row_count() == 0
    assert [d.reason.value for d in staged.dead] == [reason]
    assert staged.dead[0].payload == (
        payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    )


def test_mqtt_url_parsing_and_errors():
    ep = parse_mqtt_url("mqtt://dev%40x:p%3Ass@broker.local:8883")
    assert (ep.host, ep.port, ep.username, ep.password) == ("broker.local", 8883, "dev@x", "p:ss")
    assert parse_mqtt_url("mqtt://h").port == 1883
    with pytest.raises(ValueError, match="mqtt://"):
        parse_mqtt_url("http://h:1883")
    with pytest.raises(ValueError):
        Settings(mqtt_url="broker:1883")


def test_the_downlink_is_neither_a_reading_nor_a_dead_letter(decoder):
    prompt = wire.FallPrompt(id="p1", ts=NOW, impact_ts=NOW - 9500, timeout_s=30)
    staged = decoder.decode([_msg("anxin/v1/s1/b1/cmd", wire.encode(prompt))])
    assert not staged.dead and not any(staged.rows.values())
    assert wire.command_decoder.decode(wire.encode(prompt)) == prompt


def test_answers_are_stored_and_an_answer_without_its_prompt_is_dead_lettered(decoder):
    answers = [
        {"kind": "event", "seq": 1, "ts": NOW, "event": "fall_ok", "code": "p1"},
        {"kind": "event", "seq": 2, "ts": NOW, "event": "fall_help", "code": "p2"},
    ]
    staged = decoder.decode(
        [_msg("anxin/v1/s1/b1/reading", a) for a in answers]
        + [
            _msg(
                "anxin/v1/s1/b1/reading", {"kind": "event", "seq": 3, "ts": NOW, "event": "fall_ok"}
            )
        ]
    )
    assert staged.rows["device_event"] == [
        (1, NOW, 1, "fall_ok", "p1", None),
        (1, NOW, 2, "fall_help", "p2", None),
    ]
    [dead] = staged.dead
    assert dead.reason == "invalid_payload" and "code" in dead.detail


def test_an_empty_retained_status_clears_presence_quietly(decoder):
    staged = decoder.decode([_msg("anxin/v1/s1/b1/status", b"")])
    assert not staged.dead and not any(staged.rows.values())
