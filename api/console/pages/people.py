"""Administrators' page of the people alarms reach: contacts (family, community, managers) and
staff, each row with a small edit form, so a changed phone number or a nurse who left is fixed
in the console rather than with curl.

A row form is read into the API's own patch models (``ContactPatch``, ``StaffPatch``) and
written by the API's registry service, so the console accepts exactly what ``PATCH`` accepts.
Nobody is deleted here, as in the API: past notifications name them, so they are deactivated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from api.console import csrf
from api.console.pages.admin import page, submit
from api.console.render import PREFIX, ConsoleRoute
from api.db import Conn
from api.deps import ConnDep, RegistryAdminDep
from api.registry import service as registry
from api.registry.models import ContactPatch, StaffPatch
from api.scope import Principal

router = APIRouter(prefix="/admin/people", route_class=ConsoleRoute)

PAGE = f"{PREFIX}/admin/people"
STAFF_ROLES = ("duty", "supervisor", "manager")
CONTACT_FIELDS = ("priority", "phone", "email")
STAFF_FIELDS = ("role", "phone", "email")


async def _edits(request: Request, fields: tuple[str, ...]) -> dict[str, str]:
    """The row form's ``fields`` as posted, blanks kept (unlike a create form, a cleared phone
    means "no phone"), and ``active`` from the checkbox, which a browser leaves out when it is
    unchecked."""
    form = await request.form()
    values = {name: value.strip() for name in fields if isinstance(value := form.get(name), str)}
    values["active"] = "true" if form.get("active") else "false"
    return values


@router.get("")
def people_page(request: Request, admin: RegistryAdminDep, conn: ConnDep) -> Response:
    return _people(request, conn, admin, {})


@router.post("/contacts/{contact_id}", dependencies=[Depends(csrf.verify)])
async def edit_contact(
    contact_id: int, request: Request, admin: RegistryAdminDep, conn: ConnDep
) -> Response:
    return await _edit(
        request,
        conn,
        admin,
        ContactPatch,
        CONTACT_FIELDS,
        lambda body: registry.update_contact(conn=conn, contact_id=contact_id, body=body),
    )


@router.post("/staff/{staff_id}", dependencies=[Depends(csrf.verify)])
async def edit_staff(
    staff_id: int, request: Request, admin: RegistryAdminDep, conn: ConnDep
) -> Response:
    return await _edit(
        request,
        conn,
        admin,
        StaffPatch,
        STAFF_FIELDS,
        lambda body: registry.update_staff(conn=conn, staff_id=staff_id, body=body),
    )


async def _edit(
    request: Request,
    conn: Conn,
    admin: Principal,
    model: type[BaseModel],
    fields: tuple[str, ...],
    update: Callable[[Any], BaseModel],
) -> Response:
    """Validate one row form with the API's patch model, write it, show the page again."""
    values = await _edits(request, fields)
    saved, errors, status = submit(conn, model, values, update, ok=200)
    return _people(request, conn, admin, {"saved": saved, "errors": errors}, status)


def _people(
    request: Request, conn: Conn, admin: Principal, extra: dict[str, Any], status: int = 200
) -> Response:
    """The page, also as the answer to a row form: ``here`` stays the page's own address, so
    the navigation and the language switch lead to the list, not to the form's POST route."""
    residents = registry.list_residents(conn=conn, principal=admin, site=None)
    context = {
        "contacts": registry.list_contacts(conn=conn, principal=admin, site=None, resident=None),
        "staff": registry.list_staff(conn=conn, principal=admin, site=None),
        "residents_by_uid": {r.uid: r for r in residents},
        "staff_roles": STAFF_ROLES,
        "here": PAGE,
        "here_full": PAGE,
        **extra,
    }
    return page(request, conn, admin, "admin_people.html", context, status)
