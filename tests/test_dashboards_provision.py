"""`anxin dashboards provision` against a stand-in for Grafana.

No Grafana server can run here. ``StandInGrafana`` is a real HTTP server (``http.server`` in a
thread) that records every request and answers the endpoints provisioning uses the way Grafana
11's HTTP API does: data sources, folders and dashboards kept by uid, ids and versions assigned
on save, 401 without valid credentials, 404 for what does not exist, read-only objects for what
Grafana provisions from files. It is a stand-in, not Grafana: these tests prove which calls are
made and that a second run creates nothing, not that a real Grafana accepts every field.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from anxin.storage import StoragePath, schema_path
from dashboards.catalog import DASHBOARDS, FOLDER_UID
from dashboards.cli import app
from dashboards.model import DATASOURCE_UID
from dashboards.provision import (
    DataSourceSpec,
    GrafanaError,
    check_health,
    connect,
    provision,
)

TOKEN = "glsa_stand_in_token"
SPEC = DataSourceSpec.from_url(
    "postgresql://grafana_reader:s3cret@db.internal:6543/anxin?sslmode=require",
    timescaledb=False,
    server_version="15.4",
)


@dataclass
class Recorded:
    method: str
    path: str
    authorization: str
    body: Any


@dataclass
class StandInGrafana:
    """Grafana's HTTP API as far as provisioning uses it (see the module docstring)."""

    users: dict[str, str] = field(default_factory=lambda: {"admin": "admin-pw"})
    viewers: set[str] = field(default_factory=set)
    requests: list[Recorded] = field(default_factory=list)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_id: int = 1

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method != "GET"]

    def _new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def _who(self, authorization: str) -> str | None:
        if authorization == f"Bearer {TOKEN}":
            return "service-account"
        if authorization.startswith("Basic "):
            user, _, password = base64.b64decode(authorization[6:]).decode().partition(":")
            if self.users.get(user) == password:
                return user
        return None

    def answer(self, method: str, path: str, authorization: str, body: Any) -> tuple[int, Any]:
        self.requests.append(Recorded(method, path, authorization, body))
        if path == "/api/health":
            return 200, {"commit": "stand-in", "database": "ok", "version": "11.6.0"}
        who = self._who(authorization)
        if who is None:
            return 401, {"message": "Unauthorized"}
        if method != "GET" and who in self.viewers:
            return 403, {"message": "Permissions needed: datasources:write"}
        parts = path.strip("/").split("/")[1:]
        handler = getattr(self, f"_{method.lower()}_{parts[0]}", None)
        if handler is None:
            return 404, {"message": "Not found"}
        status, answer = handler(parts[1:], body)
        return status, answer

    def _get_datasources(self, parts: list[str], body: Any) -> tuple[int, Any]:
        found = self.datasources.get(parts[-1]) if parts[:1] == ["uid"] else None
        if found is None:
            return 404, {"message": "Data source not found"}
        return 200, {k: v for k, v in found.items() if k != "secureJsonData"}

    def _post_datasources(self, parts: list[str], body: Any) -> tuple[int, Any]:
        if any(d["name"] == body["name"] for d in self.datasources.values()):
            return 409, {"message": "data source with the same name already exists"}
        stored = {**body, "id": self._new_id(), "readOnly": False}
        self.datasources[body["uid"]] = stored
        return 200, {"datasource": stored, "id": stored["id"], "message": "Datasource added"}

    def _put_datasources(self, parts: list[str], body: Any) -> tuple[int, Any]:
        current = self.datasources.get(parts[-1])
        if current is None:
            return 404, {"message": "Data source not found"}
        if current["readOnly"]:
            return 403, {"message": "Cannot update read-only data source"}
        current.update(body)
        return 200, {"datasource": current, "id": current["id"], "message": "Datasource updated"}

    def _get_folders(self, parts: list[str], body: Any) -> tuple[int, Any]:
        found = self.folders.get(parts[0])
        return (200, found) if found else (404, {"message": "folder not found"})

    def _post_folders(self, parts: list[str], body: Any) -> tuple[int, Any]:
        if body["uid"] in self.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        folder = {"id": self._new_id(), "uid": body["uid"], "title": body["title"], "version": 1}
        self.folders[body["uid"]] = folder
        return 200, folder

    def _put_folders(self, parts: list[str], body: Any) -> tuple[int, Any]:
        folder = self.folders[parts[0]]
        folder.update(title=body["title"], version=folder["version"] + 1)
        return 200, folder

    def _get_dashboards(self, parts: list[str], body: Any) -> tuple[int, Any]:
        found = self.dashboards.get(parts[-1]) if parts[:1] == ["uid"] else None
        return (200, found) if found else (404, {"message": "Dashboard not found"})

    def _post_dashboards(self, parts: list[str], body: Any) -> tuple[int, Any]:
        model, folder_uid = body["dashboard"], body.get("folderUid", "")
        if folder_uid and folder_uid not in self.folders:
            return 400, {"message": "folder not found"}
        current = self.dashboards.get(model["uid"])
        if current and current["meta"]["provisioned"]:
            return 400, {"message": "Cannot save provisioned dashboard"}
        if current and not body.get("overwrite"):
            return 412, {"message": "A dashboard with the same uid already exists"}
        ident = current["dashboard"]["id"] if current else self._new_id()
        version = current["dashboard"]["version"] + 1 if current else 1
        saved = {**model, "id": ident, "version": version}
        self.dashboards[model["uid"]] = {
            "dashboard": saved,
            "meta": {"folderUid": folder_uid, "provisioned": False},
        }
        return 200, {"id": ident, "uid": model["uid"], "status": "success", "version": version}


def _handler(grafana: StandInGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            status, answer = grafana.answer(
                self.command,
                self.path.split("?")[0],
                self.headers.get("Authorization", ""),
                json.loads(raw) if raw else None,
            )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads the recorded requests instead."""

    return Handler


@pytest.fixture
def grafana() -> Iterator[tuple[StandInGrafana, str]]:
    state = StandInGrafana()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _run(url: str, **credentials: str) -> list[tuple[str, str]]:
    auth = {"token": TOKEN, "user": "admin", "password": ""} | credentials
    api = connect(url, **auth)
    assert check_health(api, url=url) == "11.6.0"
    outcomes = provision(api, url=url, datasource=SPEC, dashboards=DASHBOARDS)
    return [(o.kind, o.action) for o in outcomes]


def test_first_run_creates_data_source_folder_and_dashboards(grafana):
    state, url = grafana
    assert _run(url) == [
        ("data source", "created"),
        ("folder", "created"),
        *[("dashboard", "created")] * len(DASHBOARDS),
    ]

    source = state.datasources[DATASOURCE_UID]
    assert source["name"] == "Anxin PostgreSQL"
    assert source["url"] == "db.internal:6543"
    assert source["user"] == "grafana_reader"
    assert source["secureJsonData"] == {"password": "s3cret"}
    assert source["jsonData"]["database"] == "anxin"
    assert source["jsonData"]["sslmode"] == "require"
    assert source["jsonData"]["timescaledb"] is False
    assert source["jsonData"]["postgresVersion"] == 1500
    assert set(state.folders) == {FOLDER_UID}
    assert set(state.dashboards) == {d.uid for d in DASHBOARDS}
    for stored in state.dashboards.values():
        assert stored["meta"]["folderUid"] == FOLDER_UID
        targets = [t for p in stored["dashboard"]["panels"] for t in p.get("targets", [])]
        assert targets
        assert {t["datasource"]["uid"] for t in targets} == {DATASOURCE_UID}
    assert all(r.authorization == f"Bearer {TOKEN}" for r in state.requests[1:])


def test_second_run_creates_nothing_and_updates_in_place(grafana):
    state, url = grafana
    _run(url)
    ids = {uid: d["dashboard"]["id"] for uid, d in state.dashboards.items()}
    source_id = state.datasources[DATASOURCE_UID]["id"]
    first = len(state.requests)

    assert _run(url) == [
        ("data source", "updated"),
        ("folder", "unchanged"),
        *[("dashboard", "unchanged")] * len(DASHBOARDS),
    ]
    second = state.requests[first:]
    assert [r.method for r in second if r.method != "GET"] == ["PUT"]
    assert not any(r.method == "POST" for r in second)
    assert len(state.datasources) == 1
    assert state.datasources[DATASOURCE_UID]["id"] == source_id
    assert len(state.folders) == 1
    assert {uid: d["dashboard"]["id"] for uid, d in state.dashboards.items()} == ids


def test_a_dashboard_edited_in_grafana_is_restored_in_place(grafana):
    state, url = grafana
    _run(url)
    edited = state.dashboards["anxin-vitals"]["dashboard"]
    edited.update(title="someone's copy", version=edited["version"] + 1)
    state.folders[FOLDER_UID]["title"] = "Renamed"
    ident = edited["id"]

    outcomes = dict(zip([d.uid for d in DASHBOARDS], _run(url)[2:], strict=True))
    assert outcomes["anxin-vitals"] == ("dashboard", "updated")
    assert outcomes["anxin-facility"] == ("dashboard", "unchanged")
    restored = state.dashboards["anxin-vitals"]["dashboard"]
    assert restored["id"] == ident
    assert restored["title"] == "Anxin · Resident vitals"
    assert restored["version"] == 3
    assert state.folders[FOLDER_UID]["title"] == "Anxin"
    assert len(state.dashboards) == len(DASHBOARDS)


def test_objects_provisioned_from_files_are_left_alone(grafana):
    state, url = grafana
    state.datasources[DATASOURCE_UID] = {
        "uid": DATASOURCE_UID,
        "name": "Anxin TimescaleDB",
        "id": 1,
        "readOnly": True,
    }
    state.folders[FOLDER_UID] = {"id": 2, "uid": FOLDER_UID, "title": "Anxin", "version": 1}
    for dashboard in DASHBOARDS:
        state.dashboards[dashboard.uid] = {
            "dashboard": {**dashboard.to_json(), "id": 3, "version": 1, "title": "from files"},
            "meta": {"folderUid": FOLDER_UID, "provisioned": True},
        }

    assert _run(url) == [
        ("data source", "provisioned from files, kept"),
        ("folder", "unchanged"),
        *[("dashboard", "provisioned from files, kept")] * len(DASHBOARDS),
    ]
    assert state.writes() == []


def test_user_and_password_work_instead_of_a_token(grafana):
    state, url = grafana
    _run(url, token="", user="admin", password="admin-pw")
    expected = "Basic " + base64.b64encode(b"admin:admin-pw").decode()
    assert {r.authorization for r in state.requests[1:]} == {expected}


def test_wrong_credentials_say_what_to_set(grafana):
    state, url = grafana
    with pytest.raises(GrafanaError, match="refused the credentials") as error:
        _run(url, token="wrong")
    assert "ANXIN_GRAFANA_TOKEN" in str(error.value)
    assert state.writes() == []


def test_an_account_without_admin_role_is_told_so(grafana):
    state, url = grafana
    state.users["viewer"] = "pw"
    state.viewers.add("viewer")
    with pytest.raises(GrafanaError, match="Admin role"):
        _run(url, token="", user="viewer", password="pw")


def test_no_credentials_at_all_is_refused_before_any_request(grafana):
    state, url = grafana
    with pytest.raises(GrafanaError, match="ANXIN_GRAFANA_PASSWORD"):
        connect(url, token="", user="admin", password="")
    assert state.requests == []


def test_unreachable_grafana_says_how_to_start_it():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(GrafanaError, match="not reachable") as error:
        _run(f"http://admin:topsecret@127.0.0.1:{port}")
    assert "Connection refused" in str(error.value)
    assert "topsecret" not in str(error.value)
    assert "docker compose up -d grafana" in str(error.value)


def test_a_server_that_is_not_grafana_is_recognised():
    class NotGrafana(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = b"<html>router login</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotGrafana)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(GrafanaError, match="does not answer like Grafana"):
            _run(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


def test_a_bad_url_is_refused(grafana):
    with pytest.raises(GrafanaError, match="http"):
        connect("grafana.local:3000", token=TOKEN, user="admin", password="")


def test_cli_provisions_twice_with_the_database_it_finds(grafana, db_url, conn, monkeypatch):
    state, url = grafana
    monkeypatch.setenv("ANXIN_DATABASE_URL", db_url)
    monkeypatch.setenv(
        "ANXIN_GRAFANA_DATABASE_URL", "postgresql://grafana_reader:pw@timescaledb:5432/anxin"
    )
    for _ in range(2):
        result = CliRunner().invoke(app, ["provision", "--grafana-url", url, "--token", TOKEN])
        assert result.exit_code == 0, result.output
    source = state.datasources[DATASOURCE_UID]
    assert source["url"] == "timescaledb:5432"
    # whatever the test server is: the readings' path, as the migrations chose it
    on_timescale = schema_path(conn) is StoragePath.TIMESCALEDB
    assert source["jsonData"]["timescaledb"] is on_timescale
    assert source["jsonData"]["postgresVersion"] >= 1000
    assert len(state.dashboards) == len(DASHBOARDS)
    assert sum(r.method == "POST" for r in state.requests) == 2 + len(DASHBOARDS)
    assert "unchanged" in result.output


def test_cli_reports_an_unreachable_grafana_before_touching_the_database(monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("ANXIN_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("ANXIN_GRAFANA_TOKEN", TOKEN)
    result = CliRunner().invoke(app, ["provision", "--grafana-url", f"http://127.0.0.1:{port}"])
    assert isinstance(result.exception, GrafanaError)
    assert "not reachable" in str(result.exception)
