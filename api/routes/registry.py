"""Registry routes: reading is scoped for every role; writing is for administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, UploadFile

from anxin import registry
from api.deps import ConnDep, PrincipalDep, RegistryAdminDep
from api.errors import responses
from api.registry import imports, service
from api.registry.models import (
    ContactIn,
    ContactOut,
    ContactPatch,
    CredentialOut,
    DeviceIn,
    DeviceIssued,
    DeviceOut,
    DevicePatch,
    ImportReport,
    LocationIn,
    LocationOut,
    ResidentIn,
    ResidentOut,
    ResidentPatch,
    ShiftIn,
    ShiftOut,
    SiteIn,
    SiteOut,
    StaffIn,
    StaffOut,
    StaffPatch,
)

router = APIRouter(prefix="/api/v1", tags=["registry"])

SiteQuery = Annotated[str | None, Query(description="only this site (uid)")]
_READ = responses(401)
_READ_ONE = responses(401, 404)
_WRITE = responses(401, 403, 404, 409)


@router.get("/sites", response_model=list[SiteOut], responses=_READ)
def list_sites(principal: PrincipalDep, conn: ConnDep) -> list[SiteOut]:
    return service.list_sites(conn=conn, principal=principal)


@router.post("/sites", response_model=SiteOut, status_code=201, responses=_WRITE)
def create_site(body: SiteIn, admin: RegistryAdminDep, conn: ConnDep) -> SiteOut:
    with conn.transaction():
        return service.create_site(conn=conn, body=body)


@router.get("/sites/{uid}", response_model=SiteOut, responses=_READ_ONE)
def get_site(uid: str, principal: PrincipalDep, conn: ConnDep) -> SiteOut:
    return service.get_site(conn=conn, principal=principal, uid=uid)


@router.get("/sites/{uid}/locations", response_model=list[LocationOut], responses=_READ_ONE)
def list_locations(uid: str, principal: PrincipalDep, conn: ConnDep) -> list[LocationOut]:
    return service.list_locations(conn=conn, principal=principal, site=uid)


@router.post(
    "/sites/{uid}/locations", response_model=LocationOut, status_code=201, responses=_WRITE
)
def create_location(
    uid: str, body: LocationIn, admin: RegistryAdminDep, conn: ConnDep
) -> LocationOut:
    """Add a location (room, bed, kitchen, hall…); an existing name gets the new kind."""
    with conn.transaction():
        return service.create_location(conn=conn, site=uid, body=body)


@router.get("/residents", response_model=list[ResidentOut], responses=_READ)
def list_residents(
    principal: PrincipalDep, conn: ConnDep, site: SiteQuery = None
) -> list[ResidentOut]:
    return service.list_residents(conn=conn, principal=principal, site=site)


@router.post("/residents", response_model=ResidentOut, status_code=201, responses=_WRITE)
def create_resident(body: ResidentIn, admin: RegistryAdminDep, conn: ConnDep) -> ResidentOut:
    with conn.transaction():
        return service.create_resident(conn=conn, body=body)


@router.get("/residents/{uid}", response_model=ResidentOut, responses=_READ_ONE)
def get_resident(uid: str, principal: PrincipalDep, conn: ConnDep) -> ResidentOut:
    return service.get_resident(conn=conn, principal=principal, uid=uid)


@router.patch("/residents/{uid}", response_model=ResidentOut, responses=_WRITE)
def update_resident(
    uid: str, body: ResidentPatch, admin: RegistryAdminDep, conn: ConnDep
) -> ResidentOut:
    """Change a resident: name, location (null: none), birth year, vital-sign limits, or
    ``active: false`` when they move out. Fields left out keep their value; a limit sent alone
    that is not below ``hr_high`` (or above ``hr_low``) as stored is a 409. The alerts service
    picks up new limits within about 10 seconds."""
    with conn.transaction():
        return service.update_resident(conn=conn, uid=uid, body=body)


@router.get("/devices", response_model=list[DeviceOut], responses=_READ)
def list_devices(principal: PrincipalDep, conn: ConnDep, site: SiteQuery = None) -> list[DeviceOut]:
    return service.list_devices(conn=conn, principal=principal, site=site)


@router.post("/devices", response_model=DeviceIssued, status_code=201, responses=_WRITE)
def create_device(body: DeviceIn, admin: RegistryAdminDep, conn: ConnDep) -> DeviceIssued:
    """Register a device; the answer holds its MQTT password, shown this once (then run
    'anxin devices broker-auth' so the broker accepts it)."""
    with conn.transaction():
        return service.create_device(conn=conn, body=body)


@router.get("/devices/{uid}", response_model=DeviceOut, responses=_READ_ONE)
def get_device(uid: str, principal: PrincipalDep, conn: ConnDep) -> DeviceOut:
    return service.get_device(conn=conn, principal=principal, uid=uid)


@router.patch("/devices/{uid}", response_model=DeviceOut, responses=_WRITE)
def update_device(uid: str, body: DevicePatch, admin: RegistryAdminDep, conn: ConnDep) -> DeviceOut:
    """Take a device out of service (``active: false``) or back in."""
    with conn.transaction():
        registry.set_device_active(conn=conn, uid=uid, active=body.active)
    return service.get_device(conn=conn, principal=admin, uid=uid)


@router.post("/devices/{uid}/credential", response_model=CredentialOut, responses=_WRITE)
def rotate_credential(uid: str, admin: RegistryAdminDep, conn: ConnDep) -> CredentialOut:
    """Issue a new MQTT password (shown once); the old one works until the next broker-auth."""
    with conn.transaction():
        password = registry.rotate_credential(conn=conn, uid=uid)
    return CredentialOut(uid=uid, mqtt_password=password)


@router.get("/contacts", response_model=list[ContactOut], responses=_READ)
def list_contacts(
    principal: PrincipalDep,
    conn: ConnDep,
    site: SiteQuery = None,
    resident: Annotated[str | None, Query(description="only this resident (uid)")] = None,
) -> list[ContactOut]:
    """Family, community and manager contacts (admins, and duty staff for their sites)."""
    return service.list_contacts(conn=conn, principal=principal, site=site, resident=resident)


@router.post("/contacts", response_model=ContactOut, status_code=201, responses=_WRITE)
def create_contact(body: ContactIn, admin: RegistryAdminDep, conn: ConnDep) -> ContactOut:
    with conn.transaction():
        return service.create_contact(conn=conn, body=body)


@router.patch("/contacts/{contact_id}", response_model=ContactOut, responses=_WRITE)
def update_contact(
    contact_id: int, body: ContactPatch, admin: RegistryAdminDep, conn: ConnDep
) -> ContactOut:
    """Change a contact's name, relation, priority, phone, e-mail or channels, or stop telling
    them (``active: false``; kept for the history). Fields left out keep their value."""
    with conn.transaction():
        return service.update_contact(conn=conn, contact_id=contact_id, body=body)


@router.get("/staff", response_model=list[StaffOut], responses=_READ)
def list_staff(principal: PrincipalDep, conn: ConnDep, site: SiteQuery = None) -> list[StaffOut]:
    """Staff of the sites (admins, and duty staff for their sites)."""
    return service.list_staff(conn=conn, principal=principal, site=site)


@router.post("/staff", response_model=StaffOut, status_code=201, responses=_WRITE)
def create_staff(body: StaffIn, admin: RegistryAdminDep, conn: ConnDep) -> StaffOut:
    with conn.transaction():
        return service.create_staff(conn=conn, body=body)


@router.patch("/staff/{staff_id}", response_model=StaffOut, responses=_WRITE)
def update_staff(
    staff_id: int, body: StaffPatch, admin: RegistryAdminDep, conn: ConnDep
) -> StaffOut:
    """Change a staff member's name, standing role, phone, e-mail or channels, or take them off
    the roster (``active: false``; kept for the history). Fields left out keep their value."""
    with conn.transaction():
        return service.update_staff(conn=conn, staff_id=staff_id, body=body)


@router.post("/staff/{staff_id}/shifts", response_model=ShiftOut, status_code=201, responses=_WRITE)
def add_shift(staff_id: int, body: ShiftIn, admin: RegistryAdminDep, conn: ConnDep) -> ShiftOut:
    """Put a staff member on the duty roster for a time span."""
    with conn.transaction():
        return service.add_shift(conn=conn, staff_id=staff_id, body=body)


CsvFile = Annotated[UploadFile, File(description="CSV, UTF-8, with a header row")]


@router.post("/import/residents", response_model=ImportReport, responses=responses(400, 401, 403))
def import_residents(file: CsvFile, admin: RegistryAdminDep, conn: ConnDep) -> ImportReport:
    """Columns uid, site, name; optional location, birth_year. Failing rows are listed with
    their row number and do not stop the others."""
    return imports.import_residents(conn=conn, data=file.file.read(imports.MAX_BYTES + 1))


@router.post("/import/devices", response_model=ImportReport, responses=responses(400, 401, 403))
def import_devices(file: CsvFile, admin: RegistryAdminDep, conn: ConnDep) -> ImportReport:
    """Columns uid, site, kind; optional location, resident, model, heartbeat_interval_s. The
    report holds each new device's MQTT password, once."""
    return imports.import_devices(conn=conn, data=file.file.read(imports.MAX_BYTES + 1))
