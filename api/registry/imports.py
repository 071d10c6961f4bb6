"""CSV bulk import of residents and devices: each row in its own savepoint, so a bad row is
reported (row number and reason) and the others are still imported.

Files are UTF-8 (a spreadsheet's byte-order mark is accepted) with a header row; empty cells
mean "not given". Rows are numbered as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import TypeVar

import psycopg
from pydantic import BaseModel, ValidationError

from anxin.errors import AnxinError
from api.db import Conn
from api.errors import BadRequest
from api.registry import service
from api.registry.models import (
    DeviceIn,
    ImportReport,
    IssuedCredential,
    ResidentIn,
    RowError,
)

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000

Row = TypeVar("Row", bound=BaseModel)


def _columns(model: type[BaseModel]) -> tuple[set[str], set[str]]:
    required = {name for name, f in model.model_fields.items() if f.is_required()}
    return required, set(model.model_fields) - required


def read_rows(data: bytes, model: type[BaseModel]) -> list[tuple[int, dict[str, str]]]:
    """The file's records with their spreadsheet row numbers; ``BadRequest`` if the file as a
    whole is unusable (size, encoding, header)."""
    if len(data) > MAX_BYTES:
        raise BadRequest(f"the file is over {MAX_BYTES // 1024 // 1024} MiB; split it")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the file is not UTF-8 text; save it as 'CSV UTF-8'") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    required, optional = _columns(model)
    header = {name.strip() for name in reader.fieldnames or []}
    missing, unknown = required - header, header - required - optional
    if missing or unknown:
        raise BadRequest(
            f"the header must name the columns {', '.join(sorted(required))} "
            f"(optional: {', '.join(sorted(optional))}); "
            + (f"missing: {', '.join(sorted(missing))}; " if missing else "")
            + (f"unknown: {', '.join(sorted(unknown))}" if unknown else "")
        )
    rows: list[tuple[int, dict[str, str]]] = []
    for record in reader:
        if len(rows) >= MAX_ROWS:
            raise BadRequest(f"the file has more than {MAX_ROWS} rows; split it")
        cells = {
            (key or "").strip(): value.strip()
            for key, value in record.items()
            if isinstance(value, str) and value.strip()
        }
        if None in record:
            cells["_extra"] = "more cells than header columns"
        rows.append((reader.line_num, cells))
    return rows


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'row'}: {error['msg']}"
        for error in exc.errors()
    )


def _run(
    conn: Conn,
    rows: list[tuple[int, dict[str, str]]],
    model: type[Row],
    create: Callable[[Row], IssuedCredential | None],
) -> ImportReport:
    report = ImportReport(created=0, errors=[])
    with conn.transaction():
        for number, cells in rows:
            if "_extra" in cells:
                report.errors.append(RowError(row=number, error=cells["_extra"]))
                continue
            try:
                body = model.model_validate(cells)
                with conn.transaction():
                    credential = create(body)
            except ValidationError as exc:
                report.errors.append(RowError(row=number, error=_describe(exc)))
                continue
            except (AnxinError, psycopg.DataError, psycopg.IntegrityError) as exc:
                report.errors.append(RowError(row=number, error=str(exc).strip()))
                continue
            report.created += 1
            if credential is not None:
                report.credentials.append(credential)
    return report


def import_residents(*, conn: Conn, data: bytes) -> ImportReport:
    """Columns: uid, site, name; optional location (a name at the site), birth_year."""
    rows = read_rows(data, ResidentIn)

    def create(body: ResidentIn) -> None:
        service.create_resident(conn=conn, body=body)

    return _run(conn, rows, ResidentIn, create)


def import_devices(*, conn: Conn, data: bytes) -> ImportReport:
    """Columns: uid, site, kind; optional location, resident, model, heartbeat_interval_s.
    Each new device's MQTT password is in the report, once."""
    rows = read_rows(data, DeviceIn)

    def create(body: DeviceIn) -> IssuedCredential:
        issued = service.create_device(conn=conn, body=body)
        return IssuedCredential(uid=issued.device.uid, mqtt_password=issued.mqtt_password)

    return _run(conn, rows, DeviceIn, create)
