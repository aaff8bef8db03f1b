"""The demo city: areas, streets, facilities, estates, buildings, units and policies for the local stack.

Hand-written content lives in ``devstack/seed_data/{city}.json``; the bulk (units: which rooms, their
layout, floor area, rent and status) is generated here from a fixed random seed, so every run gives
the same city. Everything is written through the app's own domain services (the same calls the admin
API makes), so counters, nearby lists and unit histories are exactly what the app would keep::

    with LocalStack() as stack:
        counts = seed("jiangmen")   # {"areas": 3, "streets": 9, "estates": 9, "units": 360, ...}

Units are imported in the status they have (existing stock), one transaction each.
"""
from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "devstack" / "seed_data"
FINGERPRINT_GLOBS = ("devstack/seed.py", "devstack/seed_data/{city}.json", "chalicelib/domain/*.py",
                     "chalicelib/repositories/*.py")
ACTOR_ID, ACTOR_ROLE = "seed", "admin"

#: Floor area (m², building area) a room of each layout may have.
LAYOUT_AREAS: dict[str, tuple[float, float]] = {
    "studio": (22.0, 30.0),
    "1b1l": (30.0, 45.0),
    "2b1l": (45.0, 65.0),
    "2b2l": (60.0, 75.0),
    "3b1l": (65.0, 90.0),
    "3b2l": (80.0, 95.0),
}
ORIENTATIONS = ("南", "南", "东南", "西南", "东", "西", "北")
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class UnitPlan:
    """One unit to create (a UnitIn-shaped body) and the status it should end in."""

    data: dict[str, Any]
    target: str


def load(city: str) -> dict[str, Any]:
    path = DATA_DIR / f"{city}.json"
    if not path.is_file():
        raise ValueError(f"no seed data for city {city!r}: add {path} or start with --no-seed")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# --- what to write (pure: no AWS) -------------------------------------------------------------
def offset_point(lat: float, lng: float, distance_m: float, bearing_deg: float) -> tuple[float, float]:
    """The point ``distance_m`` from (lat, lng) towards ``bearing_deg`` (clockwise from north)."""
    b = math.radians(bearing_deg)
    dlat = distance_m * math.cos(b) / METRES_PER_DEGREE
    dlng = distance_m * math.sin(b) / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    return round(lat + dlat, 6), round(lng + dlng, 6)


def plan_facilities(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Facilities (FacilityIn-shaped), placed by distance and bearing from the estate they serve."""
    out = []
    for estate in data["estates"]:
        for f in estate["facilities"]:
            lat, lng = offset_point(estate["lat"], estate["lng"], f["distance_m"], f["bearing"])
            item = {"facility_id": f["facility_id"], "type": f["type"], "name": f["name"], "lat": lat, "lng": lng}
            if f.get("address"):
                item["address"] = f["address"]
            out.append(item)
    return out


def estate_body(estate: dict[str, Any]) -> dict[str, Any]:
    """The EstateIn-shaped part of an estate's seed entry."""
    keys = ("estate_id", "name", "area_id", "street_id", "address", "lat", "lng", "description", "manager")
    return {k: estate[k] for k in keys if estate.get(k) is not None}


def plan_units(data: dict[str, Any]) -> list[UnitPlan]:
    """Every unit of the city, deterministically: each estate draws from its own seeded generator."""
    mix = data["status_mix"]
    plans: list[UnitPlan] = []
    for estate in data["estates"]:
        rng = random.Random(f"{data['random_seed']}:{estate['estate_id']}")
        plan = estate["unit_plan"]
        layouts = sorted(plan["layouts"])
        weights = [plan["layouts"][k] for k in layouts]
        rooms = plan["rooms_per_floor"]
        # A building's rooms stack vertically: room 03 has the same layout and area on every floor.
        stacks: dict[tuple[str, int], tuple[str, float, str]] = {}
        positions: list[tuple[str, int, int]] = []
        for building in estate["buildings"]:
            for room in range(1, rooms + 1):
                layout = rng.choices(layouts, weights)[0]
                low, high = LAYOUT_AREAS[layout]
                stacks[(building["building_id"], room)] = (
                    layout, round(rng.uniform(low, high), 2), ORIENTATIONS[rng.randrange(len(ORIENTATIONS))])
            # the ground floor holds lobbies, the management office and shops
            positions += [(building["building_id"], floor, room)
                          for floor in range(2, building["floors"] + 1) for room in range(1, rooms + 1)]
        count = plan["count"]
        if count > len(positions):
            raise ValueError(f"{estate['estate_id']}: {count} units do not fit in {len(positions)} rooms")
        chosen = sorted(rng.sample(positions, count))
        targets = _status_targets(count, mix, rng)
        rate = plan["rate_yuan_per_m2"]
        for (building_id, floor, room), target in zip(chosen, targets):
            layout, floor_area, orientation = stacks[(building_id, room)]
            plans.append(UnitPlan({
                "estate_id": estate["estate_id"],
                "building_id": building_id,
                "number": f"{floor}{room:02d}",
                "layout": layout,
                "floor_area": floor_area,
                "floor": floor,
                "rent": round(floor_area * rate * 100),  # fen a month
                "status": target,
                "orientation": orientation,
            }, target))
    return plans


def _status_targets(count: int, mix: dict[str, float], rng: random.Random) -> list[str]:
    """Exact shares per estate (every estate has vacant units to show), in a shuffled order."""
    targets: list[str] = []
    for status in ("vacant", "reserved", "under_repair"):
        targets += [status] * max(1, round(count * mix[status]))
    targets += ["leased"] * (count - len(targets))
    rng.shuffle(targets)
    return targets


# --- writing it ------------------------------------------------------------------------------
def seed(city: str = "jiangmen") -> dict[str, int]:
    """Fill an empty local stack with the demo city through the domain services; returns counts."""
    from chalicelib.deps import deps
    from chalicelib.domain import areas

    data = load(city)
    bound = deps().settings.city_code
    if bound != city:
        raise ValueError(f"the app is bound to city {bound!r}, not {city!r}")
    if areas.list_areas():
        raise RuntimeError(f"city {city!r} already has data: seed an empty stack (LocalStack.reset())")
    counts = dict.fromkeys(("areas", "streets", "estates", "buildings", "units", "facilities", "policies"), 0)
    _write(data, counts)  # transactions cost what they touch locally (devstack/moto_speed.py)
    return counts


def _write(data: dict[str, Any], counts: dict[str, int]) -> None:
    from chalicelib.bodies import AreaIn, EstateIn, FacilityIn, PolicyIn, StreetIn, UnitIn
    from chalicelib.domain import areas, estates, facilities, policies, units
    from chalicelib.domain.policies import PolicyStatus
    from chalicelib.domain.units import UnitStatus

    for area in data["areas"]:
        areas.create_area(AreaIn.model_validate({k: area[k] for k in ("area_id", "name", "district")}))
        counts["areas"] += 1
        for street in area["streets"]:
            areas.create_street(area["area_id"], StreetIn.model_validate(street))
            counts["streets"] += 1

    # Facilities first: an estate computes its nearby list when it is created.
    for facility in plan_facilities(data):
        facilities.create(FacilityIn.model_validate(facility, strict=False))
        counts["facilities"] += 1

    for entry in data["estates"]:
        estate = estates.create(EstateIn.model_validate(estate_body(entry)))
        counts["estates"] += 1
        for building in entry["buildings"]:
            estate = estates.put_building(estate.estate_id, dict(building), estate.version)
            counts["buildings"] += 1

    # Existing stock is imported in the status it has (one write per unit), as a city's
    # onboarding would; lifecycle moves are then the API's business.
    for plan in plan_units(data):
        # UnitIn creates vacant or under-repair units only; existing stock keeps the status it has
        body = UnitIn.model_validate({**plan.data, "status": UnitStatus.VACANT.value}, strict=False)
        units.create(body.model_copy(update={"status": UnitStatus(plan.data["status"])}), ACTOR_ID, ACTOR_ROLE)
        counts["units"] += 1

    for doc in data["policies"]:
        policy = policies.create(PolicyIn.model_validate({
            "title": doc["title"],
            "body": "\n\n".join(doc["paragraphs"]),
            "category": doc["category"],
            "summary": doc.get("summary"),
            "issuer": doc.get("issuer"),
            "doc_number": doc.get("doc_number"),
            "attachments": doc.get("attachments") or [],
        }, strict=False))
        if doc["status"] in ("published", "withdrawn"):
            policy = policies.change_status(policy.policy_id, PolicyStatus.PUBLISHED, policy.version,
                                            published_at=doc["published_at"])
        if doc["status"] == "withdrawn":
            policies.change_status(policy.policy_id, PolicyStatus.WITHDRAWN, policy.version)
        counts["policies"] += 1
