"""The demo city `make run` starts with: what it holds, that its counters agree with the unit search,
and that it is the same every run."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from devstack import seed as seed_module

pytestmark = pytest.mark.xdist_group("seed")

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
LANDLINE = re.compile(r"^0750-\d{7}$")
ISO_CHINA = re.compile(r"^20(2[1-6])-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?\+08:00$")
JIANGMEN = {"lat": (22.45, 22.70), "lng": (112.90, 113.20)}


@pytest.fixture(scope="module")
def seeded(stack: Any) -> Iterator[dict[str, Any]]:
    """The demo city, seeded once through the domain services into an empty local stack."""
    stack.reset()
    started = time.monotonic()
    counts = seed_module.seed("jiangmen")
    seconds = time.monotonic() - started
    print(f"\nseed(): {seconds:.1f}s {counts}")
    yield {"counts": counts, "seconds": seconds}
    stack.reset()  # leave an empty city to the next module


def _all_units(**query: Any) -> list[Any]:
    from chalicelib.domain import units
    from chalicelib.domain.units import UnitSearch

    found, cursor = [], None
    for _ in range(100):
        page = units.search(UnitSearch(limit=50, cursor=cursor, **query))
        found += page.items
        cursor = page.next_cursor
        if not cursor:
            return found
    raise AssertionError("too many pages")


def _all_policies(status: Any, category: Any = None) -> list[Any]:
    from chalicelib.domain import policies

    found, cursor = [], None
    for _ in range(50):
        page = policies.search(category, None, status, cursor, 20)
        found += page.items
        cursor = page.next_cursor
        if not cursor:
            return found
    raise AssertionError("too many pages")


def _city_units() -> list[Any]:
    from chalicelib.domain import areas

    return sorted((u for a in areas.list_areas() for u in _all_units(area=a.area_id)), key=lambda u: u.unit_id)


# --- the seed data on its own ------------------------------------------------------------------
def test_seed_data_is_what_the_admin_api_accepts() -> None:
    from types import SimpleNamespace

    from chalicelib import bodies as models

    def accepted(model: Any) -> Any:  # validated as the API validates a body: JSON, strict
        return lambda **data: model.model_validate_json(json.dumps(data))

    bodies = SimpleNamespace(**{name: accepted(getattr(models, name)) for name in (
        "AreaIn", "StreetIn", "FacilityIn", "EstateIn", "BuildingIn", "UnitIn", "PolicyIn")})
    data = seed_module.load("jiangmen")
    for area in data["areas"]:
        bodies.AreaIn(**{k: area[k] for k in ("area_id", "name", "district")})
        assert 2 <= len(area["streets"]) <= 4
        for street in area["streets"]:
            bodies.StreetIn(**street)
    for facility in seed_module.plan_facilities(data):
        bodies.FacilityIn(**facility)
    for estate in data["estates"]:
        bodies.EstateIn(**seed_module.estate_body(estate))
        for building in estate["buildings"]:
            assert SLUG.match(building["building_id"])
            bodies.BuildingIn(version=1, **{k: v for k, v in building.items() if k != "building_id"})
    for plan in seed_module.plan_units(data):  # existing stock is imported in its current status
        bodies.UnitIn(**{**plan.data, "status": "vacant"})
    for doc in data["policies"]:
        bodies.PolicyIn(title=doc["title"], body="\n\n".join(doc["paragraphs"]), category=doc["category"],
                        summary=doc.get("summary"), issuer=doc.get("issuer"), doc_number=doc.get("doc_number"))


def test_unit_plan_is_plausible() -> None:
    data = seed_module.load("jiangmen")
    estates = {e["estate_id"]: e for e in data["estates"]}
    plans = seed_module.plan_units(data)
    assert 300 <= len(plans) == len({(p.data["estate_id"], p.data["building_id"], p.data["number"]) for p in plans})
    for p in plans:
        u, estate = p.data, estates[p.data["estate_id"]]
        floors = {b["building_id"]: b["floors"] for b in estate["buildings"]}
        low, high = seed_module.LAYOUT_AREAS[u["layout"]]
        assert low <= u["floor_area"] <= high and round(u["floor_area"], 2) == u["floor_area"]
        assert 1 <= u["floor"] <= floors[u["building_id"]]
        assert u["rent"] == round(u["floor_area"] * estate["unit_plan"]["rate_yuan_per_m2"] * 100)
        assert 7.5 <= u["rent"] / 100 / u["floor_area"] <= 15  # yuan per m² a month: public rent is cheap
        assert u["status"] == p.target
    targets = [p.target for p in plans]
    share = {s: targets.count(s) / len(targets) for s in ("leased", "vacant", "reserved", "under_repair")}
    assert share["leased"] > 0.5 and 0.2 <= share["vacant"] <= 0.3
    assert share["reserved"] > 0.03 and share["under_repair"] > 0.03
    assert {p.data["layout"] for p in plans} >= {"1b1l", "2b1l", "3b1l"}


def test_unit_plan_is_the_same_in_another_process() -> None:
    """Hash randomisation and process state must not change the plan (a fresh interpreter agrees)."""
    script = ("import json; from devstack import seed as s; "
              "print(json.dumps([[p.data, p.target] for p in s.plan_units(s.load('jiangmen'))]))")
    root = Path(seed_module.__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "12345"}).stdout
    here = [[p.data, p.target] for p in seed_module.plan_units(seed_module.load("jiangmen"))]
    assert json.loads(out) == here


def test_facilities_are_near_their_estate() -> None:
    from chalicelib.domain import geo

    data = seed_module.load("jiangmen")
    planned = {f["facility_id"]: f for f in seed_module.plan_facilities(data)}
    for estate in data["estates"]:
        assert 5 <= len(estate["facilities"]) <= 10
        for f in estate["facilities"]:
            d = geo.distance_m(estate["lat"], estate["lng"], planned[f["facility_id"]]["lat"],
                               planned[f["facility_id"]]["lng"])
            assert 100 <= round(d) <= 1500 and abs(d - f["distance_m"]) < 2


def test_unknown_city_is_refused() -> None:
    with pytest.raises(ValueError, match="no seed data"):
        seed_module.load("atlantis")


# --- the seeded stack ------------------------------------------------------------------------
def test_counts(seeded: dict[str, Any]) -> None:
    from chalicelib.domain import areas, estates

    counts = seeded["counts"]
    assert counts["areas"] >= 3 and counts["estates"] >= 6 and counts["units"] >= 300
    assert counts["policies"] >= 12 and counts["facilities"] >= 6 * 5
    city_areas = areas.list_areas()
    assert len(city_areas) == counts["areas"]
    assert sum(len(a.streets) for a in city_areas) == counts["streets"]
    for area in city_areas:
        assert SLUG.match(area.area_id) and 2 <= len(area.streets) <= 4
        assert all(SLUG.match(s.street_id) for s in area.streets)
    listed = estates.list_estates(None, None, None, 100).items
    assert len(listed) == counts["estates"] and {"fuzeyuan", "huizeyuan"} <= {e.estate_id for e in listed}
    assert estates.get("fuzeyuan").name == "福泽园" and estates.get("huizeyuan").name == "惠泽园"
    assert sum(len(e.buildings) for e in listed) == counts["buildings"]
    assert len(_city_units()) == counts["units"]


def test_vacancy_counters_agree_with_the_unit_search(seeded: dict[str, Any]) -> None:
    from chalicelib.domain import areas, estates
    from chalicelib.domain.units import UnitStatus

    vacant_total = 0
    for area in areas.list_areas():
        vacant = _all_units(area=area.area_id, status=UnitStatus.VACANT)
        assert area.units_vacant == len(vacant) > 0
        assert all(u.status is UnitStatus.VACANT and u.area_id == area.area_id for u in vacant)
        assert area.units_total == len(_all_units(area=area.area_id))
        assert sum(s.units_vacant for s in area.streets) == area.units_vacant
        assert sum(s.units_total for s in area.streets) == area.units_total
        vacant_total += len(vacant)
    for estate in estates.list_estates(None, None, None, 100).items:
        mine = _all_units(estate=estate.estate_id)
        assert estate.units_total == len(mine)
        assert estate.units_vacant == sum(u.status is UnitStatus.VACANT for u in mine) > 0
        for layout, mix in estate.unit_mix.items():
            assert mix["total"] == sum(u.layout.value == layout for u in mine)
    assert 0.2 <= vacant_total / seeded["counts"]["units"] <= 0.3


def test_units_are_imported_with_their_status(seeded: dict[str, Any]) -> None:
    from chalicelib.domain import units
    from chalicelib.domain.units import UnitStatus

    all_units = _city_units()
    by_status = {s: [u for u in all_units if u.status is s] for s in UnitStatus}
    assert len(by_status[UnitStatus.LEASED]) > len(all_units) / 2
    assert by_status[UnitStatus.RESERVED] and by_status[UnitStatus.UNDER_REPAIR]
    leased = by_status[UnitStatus.LEASED][0]
    history = units.history(leased.unit_id, None, 10).items
    assert [(c.from_status, c.to_status, c.actor, c.actor_role) for c in history] == [
        (None, UnitStatus.LEASED, "seed", "admin")]
    assert leased.version == 1


def test_every_estate_has_a_manager_buildings_and_nearby_facilities(seeded: dict[str, Any]) -> None:
    from chalicelib.domain import estates

    for listed in estates.list_estates(None, None, None, 100).items:
        e = estates.get(listed.estate_id)
        assert JIANGMEN["lat"][0] < e.lat < JIANGMEN["lat"][1] and JIANGMEN["lng"][0] < e.lng < JIANGMEN["lng"][1]
        assert e.address.startswith("江门市") and e.description
        assert e.manager and set(e.manager) == {"company", "contact", "phone", "office", "hours"}
        assert LANDLINE.match(e.manager["phone"])
        assert 2 <= len(e.buildings) <= 6
        assert all(b["name"].endswith("栋") and b["floors"] >= 2 for b in e.buildings)
        close = [n for n in e.nearby if n["distance_m"] <= 1500]
        assert len(close) >= 5 and len({n["type"] for n in close}) >= 4, e.estate_id
        assert e.nearby == sorted(e.nearby, key=lambda n: (n["distance_m"], n["facility_id"]))


def test_units_stay_inside_their_buildings(seeded: dict[str, Any]) -> None:
    from chalicelib.domain import estates

    floors = {(e.estate_id, b["building_id"]): b["floors"]
              for e in estates.list_estates(None, None, None, 100).items for b in e.buildings}
    for u in _city_units():
        assert 1 <= u.floor <= floors[(u.estate_id, u.building_id)]
        assert u.unit_id == f"{u.estate_id}.{u.building_id}.{u.number}"
        assert 7.5 <= u.rent / 100 / u.floor_area <= 15


def test_policies(seeded: dict[str, Any]) -> None:
    from chalicelib.domain.policies import PolicyCategory, PolicyStatus

    published = _all_policies(PolicyStatus.PUBLISHED)
    assert len(published) >= 10
    assert len({p.category for p in published}) >= 4
    assert len(_all_policies(PolicyStatus.DRAFT)) == 1 and len(_all_policies(PolicyStatus.WITHDRAWN)) == 1
    assert len(published) + 2 == seeded["counts"]["policies"]
    for p in published:
        assert ISO_CHINA.match(p.published_at or ""), p.published_at
        assert p.issuer == "江门市住房和城乡建设局" and p.doc_number and p.summary
        assert p.body.count("\n\n") >= 2 and len(p.body) > 150
    dates = [p.published_at for p in published]
    assert dates == sorted(dates, reverse=True)  # newest first, by the seeded dates
    admission = _all_policies(PolicyStatus.PUBLISHED, PolicyCategory.ADMISSION)
    assert any("2500元" in p.body and "15平方米" in p.body and "12个月" in p.body for p in admission)
    assert any("APP" in p.title for p in _all_policies(PolicyStatus.PUBLISHED, PolicyCategory.NOTICE))


def test_seed_matches_its_plan_so_every_run_is_the_same(seeded: dict[str, Any]) -> None:
    """What the seed wrote is exactly the plan, which is a pure function of the seed data (and the
    same in another process, above): unit ids, rents, layouts, areas and final statuses."""
    plans = seed_module.plan_units(seed_module.load("jiangmen"))
    planned = sorted(
        (f"{p.data['estate_id']}.{p.data['building_id']}.{p.data['number']}", p.data["rent"], p.data["layout"],
         p.data["floor_area"], p.data["floor"], p.target) for p in plans)
    stored = [(u.unit_id, u.rent, u.layout.value, u.floor_area, u.floor, u.status.value) for u in _city_units()]
    assert stored == planned


def test_a_second_seed_is_refused(seeded: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError, match="already has data"):
        seed_module.seed("jiangmen")
