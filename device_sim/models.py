"""The simulated fleet: what it is made of, and each device as the simulator drives it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FleetSpec:
    """How many of each site to build; the demo default fits a laptop and a 2-core machine."""

    care_homes: int = 2
    rooms_per_home: int = 4
    beds_per_room: int = 2
    homes_alone: int = 3
    funeral_facilities: int = 1
    seed: int = 7
    prefix: str = ""
    """Put before every site, resident and device uid, so that fleets can run side by side."""
    notify_url: str = ""
    """With a URL, new sites get staff and contacts reached by webhooks to it."""


@dataclass(frozen=True)
class SimDevice:
    """A device with its own credential; ``resident`` is the wearer's uid for bracelets."""

    uid: str
    site_uid: str
    kind: str
    password: str
    location: str = ""
    resident: str = ""
