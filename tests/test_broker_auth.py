"""Generated Mosquitto password and ACL files let each device publish only as itself and read
only its own commands (a private Mosquitto with the generated files, real connections)."""

from __future__ import annotations

import dataclasses
import socket
import threading
import uuid

import paho.mqtt.client as mqtt
import psycopg
import pytest

from anxin import registry, wire
from anxin.broker_auth import ServiceAccount, acl_file, password_file
from anxin.consumer import BatchConsumer, ConsumerConfig, Message
from anxin.credentials import mosquitto_hash, verify
from anxin.errors import BrokerUnavailable
from anxin.localservers import PrivateMosquitto
from anxin.mqtt import connect_and_wait, make_client
from anxin.settings import parse_mqtt_url
from tests.helpers import wait_until


def test_hash_matches_mosquitto_format_and_verifies():
    stored = mosquitto_hash("s3cret", salt=b"0123456789ab")
    assert stored.startswith("$7$101$")
    assert verify("s3cret", stored)
    assert not verify("wrong", stored)


@pytest.fixture
def secured_broker(db_url, tmp_path):
    with psycopg.connect(db_url) as conn:
        registry.create_site(conn=conn, uid="s1", name="Home", kind="home_alone")
        alice = registry.create_device(conn=conn, uid="brc-alice", site_uid="s1", kind="bracelet")
        bob = registry.create_device(conn=conn, uid="brc-bob", site_uid="s1", kind="bracelet")
        registry.create_device(conn=conn, uid="brc-off", site_uid="s1", kind="bracelet")
        registry.set_device_active(conn=conn, uid="brc-off", active=False)
        conn.commit()
        devices = registry.list_devices(conn=conn)
    service = ServiceAccount("anxin-ingest", "svc-pass")
    data = tmp_path / "mosq"
    data.mkdir()
    (data / "passwd").write_text(password_file(devices, [service]))
    (data / "acl").write_text(acl_file(devices, [service]))
    broker = PrivateMosquitto(
        data,
        extra_conf=f"allow_anonymous false\npassword_file {data}/passwd\nacl_file {data}/acl\n",
    )
    broker.data = data
    broker.start()
    yield broker, alice.password, bob.password
    broker.stop()


def _client(url: str, user: str, password: str) -> mqtt.Client:
    endpoint = parse_mqtt_url(url)
    client = make_client(endpoint, f"t-{uuid.uuid4().hex[:6]}", username=user, password=password)
    connect_and_wait(client, endpoint, persistent=False)
    return client


def test_device_publishes_only_on_its_own_topics(secured_broker):
    broker, alice_pw, _ = secured_broker
    got: list[str] = []
    service = _client(broker.url, "anxin-ingest", "svc-pass")
    subscribed = threading.Event()
    service.on_message = lambda c, u, m: got.append(m.topic)
    service.on_subscribe = lambda *_: subscribed.set()
    service.subscribe("anxin/v1/#", qos=1)
    # publishing before the broker confirmed the subscription would lose alice's message
    assert subscribed.wait(10), "the service account's subscription was not acknowledged"
    own = wire.topic("s1", "brc-alice", "reading")
    forged = wire.topic("s1", "brc-bob", "reading")
    other_site = wire.topic("s2", "brc-alice", "reading")
    for topic in (forged, other_site, own):
        # a refused publish may cost the device its connection: one client per attempt
        alice = _client(broker.url, "brc-alice", alice_pw)
        info = alice.publish(topic, b"{}", qos=1)
        try:
            info.wait_for_publish(5)
        except RuntimeError:
            pass
        alice.disconnect()
    wait_until(lambda: own in got, what="alice's own message")
    assert got == [own]
    service.disconnect()


def test_device_reads_only_its_own_cmd_topic(secured_broker):
    """A fall prompt is for one wrist: bob must neither see alice's nor forge one for himself."""
    broker, alice_pw, bob_pw = secured_broker
    alice_cmd = wire.topic("s1", "brc-alice", wire.COMMAND_CHANNEL)
    bob_cmd = wire.topic("s1", "brc-bob", wire.COMMAND_CHANNEL)
    heard: dict[str, list[str]] = {"brc-alice": [], "brc-bob": []}
    clients = {}
    for user, password in (("brc-alice", alice_pw), ("brc-bob", bob_pw)):
        client = _client(broker.url, user, password)
        subscribed = threading.Event()
        client.on_subscribe = lambda *_, done=subscribed: done.set()
        client.on_message = lambda c, u, m, sink=heard[user]: sink.append(m.topic)
        client.subscribe([(alice_cmd, 1), (bob_cmd, 1)])
        assert subscribed.wait(10)
        clients[user] = client
    # a refused publish may cost the device its connection: a connection of its own
    forger = _client(broker.url, "brc-bob", bob_pw)
    try:
        forger.publish(bob_cmd, b"{}", qos=1).wait_for_publish(5)
    except RuntimeError:
        pass
    forger.disconnect()
    service = _client(broker.url, "anxin-ingest", "svc-pass")
    for topic in (alice_cmd, bob_cmd):
        service.publish(topic, b"{}", qos=1).wait_for_publish(5)
    wait_until(lambda: heard["brc-alice"] and heard["brc-bob"], what="each device's own command")
    service.publish(alice_cmd, b"{}", qos=1).wait_for_publish(5)
    wait_until(lambda: len(heard["brc-alice"]) == 2, what="alice's second command")
    assert heard == {"brc-alice": [alice_cmd, alice_cmd], "brc-bob": [bob_cmd]}
    for client in (*clients.values(), service):
        client.disconnect()


@pytest.mark.parametrize(
    ("user", "password"),
    [("brc-alice", "wrong"), ("brc-off", "anything"), ("nobody", "x")],
    ids=["wrong password", "deactivated device", "unknown user"],
)
def test_bad_credentials_are_refused(secured_broker, user, password):
    broker, _, _ = secured_broker
    with pytest.raises(BrokerUnavailable, match="refused"):
        _client(broker.url, user, password)


class _Discard:
    def open(self) -> None:
        pass

    def handle(self, batch: list[Message]) -> None:
        pass

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


def _consumer_config(subscription: str) -> ConsumerConfig:
    return ConsumerConfig(
        name="ingest",
        client_id=f"t-{uuid.uuid4().hex[:6]}",
        subscription=subscription,
        batch_rows=10,
        batch_wait_ms=10,
        receive_maximum=10,
    )


def test_the_service_account_may_subscribe_to_every_device(secured_broker):
    broker, _, _ = secured_broker
    endpoint = dataclasses.replace(
        parse_mqtt_url(broker.url), username="anxin-ingest", password="svc-pass"
    )
    consumer = BatchConsumer(endpoint, _consumer_config("$share/ingest/anxin/v1/#"), _Discard())
    consumer.start()
    consumer.stop()


def _refusing_broker(server: socket.socket, granted: int) -> None:
    """An MQTT v5 stub: accept CONNECTs, grant the first ``granted`` SUBSCRIBEs and drop the
    connection after each (the client reconnects), refuse every later one ("Not authorized")."""
    subscriptions = 0
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn, conn.makefile("rb") as stream:
            while header := stream.read(1):
                length, shift = 0, 0
                while True:
                    byte = stream.read(1)[0]
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    if byte < 0x80:
                        break
                body = stream.read(length)
                kind = header[0] >> 4
                if kind == 1:  # CONNECT -> CONNACK, success, no properties
                    conn.sendall(bytes([0x20, 3, 0, 0, 0]))
                elif kind == 8:  # SUBSCRIBE -> SUBACK: QoS 1 granted, or "Not authorized"
                    subscriptions += 1
                    code = 0x01 if subscriptions <= granted else 0x87
                    conn.sendall(bytes([0x90, 4, body[0], body[1], 0, code]))
                    if code == 0x01:
                        break
                elif kind == 12:  # PINGREQ
                    conn.sendall(bytes([0xD0, 0]))
                elif kind == 14:  # DISCONNECT
                    break


def _stub_broker(granted: int) -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=_refusing_broker, args=(server, granted), daemon=True).start()
    return server, server.getsockname()[1]


def test_a_refused_subscription_stops_the_consumer_with_the_reason():
    """An account the broker will not let read would otherwise run on, receiving nothing.

    Mosquitto 2.0 grants such subscriptions and filters at delivery, so a stub broker stands in
    for one that refuses in the SUBACK, as EMQX does (no EMQX can run here)."""
    server, port = _stub_broker(granted=0)
    consumer = BatchConsumer(
        parse_mqtt_url(f"mqtt://brc-alice:pw@127.0.0.1:{port}"),
        _consumer_config("$share/ingest/anxin/v1/#"),
        _Discard(),
    )
    with pytest.raises(BrokerUnavailable, match=r"refused \(Not authorized\).*ACL"):
        consumer.start()
    server.close()


def test_a_subscription_refused_after_a_reconnect_stops_the_consumer():
    """An ACL changed while the service runs: after the reconnect nothing would arrive."""
    server, port = _stub_broker(granted=1)
    consumer = BatchConsumer(
        parse_mqtt_url(f"mqtt://anxin-ingest:pw@127.0.0.1:{port}"),
        _consumer_config("$share/ingest/anxin/v1/#"),
        _Discard(),
    )
    consumer.start()
    failures: list[BrokerUnavailable] = []

    def watch() -> None:
        try:
            consumer.wait()
        except BrokerUnavailable as exc:
            failures.append(exc)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    watcher.join(20)
    assert not watcher.is_alive(), "the consumer kept running without its subscription"
    assert len(failures) == 1
    assert "after a reconnect (Not authorized)" in str(failures[0])
    server.close()
