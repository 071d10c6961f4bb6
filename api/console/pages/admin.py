"""Administrators' registry pages: sites, residents and devices, each a list with a create
form. A new device's MQTT password is shown once, on the page that answers the form (not
cached, never stored in clear).

Forms are read into the API's own request models (``SiteIn``, ``ResidentIn``, ``DeviceIn``) and
written by the API's registry service, so the console accepts exactly what the API accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ValidationError

from anxin.errors import Conflict, NotFound
from api.console import csrf
from api.console.render import ConsoleRoute, render
from api.console.status import display_zone
from api.db import Conn
from api.deps import ConnDep, RegistryAdminDep
from api.registry import service as registry
from api.registry.models import DeviceIn, ResidentIn, SiteIn
from api.scope import Principal

router = APIRouter(prefix="/admin", route_class=ConsoleRoute)

SITE_KINDS = ("care_home", "home_alone", "funeral")
DEVICE_KINDS = ("bracelet", "smoke", "heat", "gas", "co", "multi")


def _lists(conn: Conn, principal: Principal) -> dict[str, Any]:
    return {
        "sites": registry.list_sites(conn=conn, principal=principal),
        "site_kinds": SITE_KINDS,
        "device_kinds": DEVICE_KINDS,
    }


def page(
    request: Request,
    conn: Conn,
    principal: Principal,
    name: str,
    extra: dict[str, Any],
    status_code: int = 200,
) -> Response:
    """An admin page with the sites and the kinds its forms offer, and no errors unless
    ``extra`` brings them."""
    return render(
        request,
        name,
        {**_lists(conn, principal), "errors": [], "values": {}, **extra},
        principal=principal,
        zone=display_zone(conn=conn, principal=principal),
        status_code=status_code,
    )


async def _form(request: Request) -> dict[str, str]:
    """The posted fields other than the CSRF token, blanks dropped (a blank optional field
    means "not given", as in the API's JSON)."""
    form = await request.form()
    return {
        k: v.strip()
        for k, v in form.items()
        if isinstance(v, str) and k != csrf.FIELD and v.strip()
    }


def submit(
    conn: Conn,
    model: type[BaseModel],
    values: dict[str, str],
    write: Callable[[Any], BaseModel],
    *,
    ok: int = 201,
) -> tuple[BaseModel | None, list[str], int]:
    """Validate ``values`` as ``model`` and write it in a transaction: (result, errors,
    status), the status ``ok`` on success, else 400, 404 or 409 as the API would answer."""
    try:
        body = model.model_validate(values)
    except ValidationError as exc:
        errors = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return None, errors, 400
    try:
        with conn.transaction():
            return write(body), [], ok
    except (Conflict, NotFound) as exc:
        return None, [str(exc)], 409 if isinstance(exc, Conflict) else 404


@router.get("/sites")
def sites_page(request: Request, admin: RegistryAdminDep, conn: ConnDep) -> Response:
    return page(request, conn, admin, "admin_sites.html", {})


@router.post("/sites", dependencies=[Depends(csrf.verify)])
async def create_site(request: Request, admin: RegistryAdminDep, conn: ConnDep) -> Response:
    values = await _form(request)
    created, errors, status = submit(
        conn, SiteIn, values, lambda body: registry.create_site(conn=conn, body=body)
    )
    extra = {"created": created, "errors": errors, "values": {} if created else values}
    return page(request, conn, admin, "admin_sites.html", extra, status)


@router.get("/residents")
def residents_page(request: Request, admin: RegistryAdminDep, conn: ConnDep) -> Response:
    return _residents(request, conn, admin, {})


@router.post("/residents", dependencies=[Depends(csrf.verify)])
async def create_resident(request: Request, admin: RegistryAdminDep, conn: ConnDep) -> Response:
    values = await _form(request)
    created, errors, status = submit(
        conn, ResidentIn, values, lambda body: registry.create_resident(conn=conn, body=body)
    )
    extra = {"created": created, "errors": errors, "values": {} if created else values}
    return _residents(request, conn, admin, extra, status)


def _residents(
    request: Request, conn: Conn, admin: Principal, extra: dict[str, Any], status: int = 200
) -> Response:
    residents = registry.list_residents(conn=conn, principal=admin, site=None)
    return page(
        request, conn, admin, "admin_residents.html", {"residents": residents, **extra}, status
    )


@router.get("/devices")
def devices_page(request: Request, admin: RegistryAdminDep, conn: ConnDep) -> Response:
    return _devices(request, conn, admin, {})


@router.post("/devices", dependencies=[Depends(csrf.verify)])
async def create_device(request: Request, admin: RegistryAdminDep, conn: ConnDep) -> Response:
    """Register a device; the answer shows its MQTT password this once."""
    values = await _form(request)
    issued, errors, status = submit(
        conn, DeviceIn, values, lambda body: registry.create_device(conn=conn, body=body)
    )
    extra = {"issued": issued, "errors": errors, "values": {} if issued else values}
    return _devices(request, conn, admin, extra, status)


def _devices(
    request: Request, conn: Conn, admin: Principal, extra: dict[str, Any], status: int = 200
) -> Response:
    devices = registry.list_devices(conn=conn, principal=admin, site=None)
    residents = {r.id: r for r in registry.list_residents(conn=conn, principal=admin, site=None)}
    context = {"devices": devices, "residents_by_id": residents, **extra}
    return page(request, conn, admin, "admin_devices.html", context, status)
