"""The OpenAPI document against the running app: schemathesis generates requests for every
operation (as an administrator, on a seeded database) and checks that none answers with a
server error and that every answer matches the documented status codes, content types,
headers and schemas.

Requests go through Starlette's (httpx2-based) TestClient and the answers are handed to
schemathesis for validation: its own ASGI transport is built on ``requests``, which the
``urllib3-future`` package (pulled in by grafana-client's ``niquests``) breaks in this
environment.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from psycopg import sql
from schemathesis import checks

from anxin.db import with_database
from anxin.settings import Settings
from api.app import create_app
from tests.conftest import SERVER_URL
from tests.fix_api import SECRET, _password_hash, seed_world

# The document does not depend on the database: it is read once from an app never started.
schema = schemathesis.openapi.from_dict(create_app(Settings(api_secret=SECRET)).openapi()).exclude(
    path="/api/v1/stream"  # endless by design; covered by tests/test_api_stream.py
)

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


@pytest.fixture(scope="module")
def admin_client(template_db: str) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """One seeded database and one running app for every operation of this module: the
    requests build on each other's leftovers, as a real client's would, and the run stays
    short."""
    name = f"anxin_test_openapi_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(with_database(SERVER_URL, "postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    db_url = with_database(SERVER_URL, name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("api.accounts.hash_password", _password_hash)
        world = seed_world(db_url)
    app = create_app(Settings(database_url=db_url, api_secret=SECRET, api_cookie_secure=False))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, world.headers("admin")
    finally:
        with psycopg.connect(with_database(SERVER_URL, "postgres"), autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _as_file(value: Any) -> Any:
    if isinstance(value, tuple):
        return (value[0], _as_file(value[1]), *value[2:])
    return value if isinstance(value, (bytes, str)) else str(value)


def _send(client: TestClient, case: Any, headers: dict[str, str]) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    files = kwargs.get("files")
    if files:  # generated values may be numbers: send them as text, as a form would
        items = files.items() if isinstance(files, dict) else files
        body["files"] = [(name, _as_file(value)) for name, value in items]
    data = kwargs.get("data")
    if isinstance(data, (bytes, str)):
        body["content"] = data
    elif data is not None:
        body["data"] = data
    sent_headers = dict(kwargs.get("headers") or {})
    cookies = kwargs.get("cookies")
    if cookies:  # a header, not the client's jar: generated cookies must not leak to other cases
        sent_headers["cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    response = client.request(
        kwargs["method"], kwargs["url"], params=kwargs.get("params"), headers=sent_headers, **body
    )
    response.request.read()  # multipart bodies are streamed; schemathesis reads them back
    return response


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_fails_or_contradicts_its_documentation(case, admin_client):
    client, headers = admin_client
    response = _send(client, case, headers)
    case.validate_response(response, checks=CHECKS, headers=headers)
