"""Build a fleet in the registry through the registry's own functions (no SQL here).

Passwords are derived from the fleet seed and the device uid, so running the demo again reuses
the same devices and the same credentials instead of piling up new ones.
"""

from __future__ import annotations

import hashlib
from typing import Any

import psycopg

from anxin import registry
from device_sim.models import FleetSpec, SimDevice

FUNERAL_ROOMS = [("hall-1", "hall"), ("cremator-1", "cremator_room"), ("cold-1", "cold_storage")]


def device_password(seed: int, uid: str) -> str:
    return hashlib.sha256(f"anxin-sim:{seed}:{uid}".encode()).hexdigest()[:24]


def provision(*, conn: psycopg.Connection[Any], spec: FleetSpec) -> list[SimDevice]:
    """Create (or find) every site, room, resident and device of ``spec``; does not commit."""
    devices: list[SimDevice] = []

    def site(uid: str, name: str, kind: str, region: str) -> None:
        if registry.get_site(conn=conn, uid=uid) is None:
            registry.create_site(conn=conn, uid=uid, name=name, kind=kind, region=region)

    def device(
        uid: str,
        site_uid: str,
        kind: str,
        *,
        location: str = "",
        resident: str = "",
        location_id: int | None = None,
        resident_id: int | None = None,
    ) -> None:
        password = device_password(spec.seed, uid)
        if registry.get_device(conn=conn, uid=uid) is None:
            registry.create_device(
                conn=conn,
                uid=uid,
                site_uid=site_uid,
                kind=kind,
                location_id=location_id,
                resident_id=resident_id,
                password=password,
            )
        else:
            registry.set_credential(conn=conn, uid=uid, password=password)
        devices.append(SimDevice(uid, site_uid, kind, password, location, resident))

    def resident(uid: str, site_uid: str, name: str, location_id: int | None) -> int:
        found = registry.get_resident_id(conn=conn, uid=uid)
        if found is not None:
            return found
        return registry.create_resident(
            conn=conn,
            uid=uid,
            site_uid=site_uid,
            name=name,
            location_id=location_id,
            birth_year=1940,
        )

    pre = spec.prefix
    for h in range(spec.care_homes):
        s = f"{pre}ch{h + 1}"
        site(s, f"Care home {h + 1}", "care_home", "Xihu/Lingyin")
        for r in range(spec.rooms_per_home):
            room = f"room-{201 + r}"
            room_id = registry.create_location(conn=conn, site_uid=s, name=room)
            device(f"{s}-smoke-{r + 1}", s, "smoke", location=room, location_id=room_id)
            for b in range(spec.beds_per_room):
                bed_id = registry.create_location(
                    conn=conn, site_uid=s, name=f"{room}-{b + 1}", kind="bed"
                )
                rid = f"{s}-r{r + 1}{b + 1}"
                res = resident(rid, s, f"Resident {rid}", bed_id)
                device(
                    f"{s}-brc-{r + 1}{b + 1}",
                    s,
                    "bracelet",
                    location=room,
                    resident=rid,
                    resident_id=res,
                )
        kitchen = registry.create_location(conn=conn, site_uid=s, name="kitchen", kind="kitchen")
        device(f"{s}-gas-1", s, "gas", location="kitchen", location_id=kitchen)
    for a in range(spec.homes_alone):
        s = f"{pre}home{a + 1}"
        site(s, f"Home of senior {a + 1}", "home_alone", "Xihu/Lingyin/Maojiawu")
        bedroom = registry.create_location(conn=conn, site_uid=s, name="bedroom")
        kitchen = registry.create_location(conn=conn, site_uid=s, name="kitchen", kind="kitchen")
        res = resident(f"{s}-r1", s, f"Senior {a + 1}", bedroom)
        device(f"{s}-brc-1", s, "bracelet", location="bedroom", resident=f"{s}-r1", resident_id=res)
        device(f"{s}-gas-1", s, "gas", location="kitchen", location_id=kitchen)
        device(f"{s}-co-1", s, "co", location="kitchen", location_id=kitchen)
    for f in range(spec.funeral_facilities):
        s = f"{pre}fun{f + 1}"
        site(s, f"Funeral facility {f + 1}", "funeral", "Xihu")
        for name, kind in FUNERAL_ROOMS:
            loc = registry.create_location(conn=conn, site_uid=s, name=name, kind=kind)
            sensor = "heat" if kind == "cold_storage" else "multi"
            device(f"{s}-{name}-{sensor}", s, sensor, location=name, location_id=loc)
    return devices
