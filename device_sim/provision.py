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

    created: list[tuple[str, str]] = []

    def site(uid: str, name: str, kind: str, region: str) -> None:
        if registry.get_site(conn=conn, uid=uid) is None:
            registry.create_site(conn=conn, uid=uid, name=name, kind=kind, region=region)
            created.append((uid, kind))

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
    if spec.notify_url:
        for uid, kind in created:
            add_people(conn=conn, site_uid=uid, site_kind=kind, notify_url=spec.notify_url)
    return devices


def add_people(
    *, conn: psycopg.Connection[Any], site_uid: str, site_kind: str, notify_url: str
) -> None:
    """Who is told at a new site, all reached through webhooks to ``notify_url``: a duty nurse
    and a supervisor (standing roles, so every hour is covered), a manager; for a senior living
    alone, a daughter and a son in that order and a community worker."""
    from api.registry.models import ContactIn, StaffIn
    from api.registry.service import create_contact, create_staff

    channels = [{"kind": "webhook", "url": notify_url}]
    if site_kind == "home_alone":
        _alone_policy(conn=conn, site_uid=site_uid)
        resident = f"{site_uid}-r1"
        for priority, relation in enumerate(("daughter", "son"), start=1):
            create_contact(
                conn=conn,
                body=ContactIn.model_validate(
                    {
                        "site": site_uid,
                        "resident": resident,
                        "name": f"{relation} of {resident}",
                        "kind": "family",
                        "relation": relation,
                        "priority": priority,
                        "channels": channels,
                    }  # fmt: skip
                ),
            )
        create_contact(
            conn=conn,
            body=ContactIn.model_validate(
                {
                    "site": site_uid,
                    "name": f"community worker of {site_uid}",
                    "kind": "community",
                    "tier": "community",
                    "channels": channels,
                }  # fmt: skip
            ),
        )
        return
    for role in ("duty", "supervisor", "manager"):
        create_staff(
            conn=conn,
            body=StaffIn.model_validate(
                {
                    "site": site_uid,
                    "name": f"{role} of {site_uid}",
                    "role": role,
                    "channels": channels,
                }  # fmt: skip
            ),
        )


def _alone_policy(*, conn: psycopg.Connection[Any], site_uid: str) -> None:
    """A home has no staff on duty: the family and the community worker are the first tier,
    the town after 10 min, the district after 30 min (the platform's defaults otherwise)."""
    from alerts.policies import Step, set_policy

    site = registry.get_site(conn=conn, uid=site_uid)
    assert site is not None
    set_policy(
        conn=conn,
        site_id=site.id,
        min_severity=3,
        reminder_s=60,
        note="senior living alone: nobody on duty, family and community first",
        steps=[
            Step(tier=1, delay_s=0, audiences=("family", "community")),
            Step(tier=2, delay_s=600, audiences=("town",)),
            Step(tier=3, delay_s=1800, audiences=("district",)),
        ],
    )
