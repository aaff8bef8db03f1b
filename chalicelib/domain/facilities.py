"""Facilities near estates (配套): transit stops, schools, shops, hospitals, parks."""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from chalicelib.domain import geo
from chalicelib.domain.common import edits, expect_version, new_id, now_iso
from chalicelib.deps import deps

if TYPE_CHECKING:
    from chalicelib.bodies import FacilityIn, FacilityPatch


class FacilityType(str, enum.Enum):
    BUS_STOP = "bus_stop"
    METRO_STATION = "metro_station"
    SCHOOL = "school"
    KINDERGARTEN = "kindergarten"
    SUPERMARKET = "supermarket"
    MARKET = "market"
    HOSPITAL = "hospital"
    CLINIC = "clinic"
    PARK = "park"


TYPE_NAMES = {
    FacilityType.BUS_STOP: "公交站",
    FacilityType.METRO_STATION: "地铁站",
    FacilityType.SCHOOL: "学校",
    FacilityType.KINDERGARTEN: "幼儿园",
    FacilityType.SUPERMARKET: "超市",
    FacilityType.MARKET: "农贸市场",
    FacilityType.HOSPITAL: "医院",
    FacilityType.CLINIC: "社区卫生服务站",
    FacilityType.PARK: "公园",
}


@dataclass(frozen=True)
class Facility:
    facility_id: str
    type: FacilityType
    name: str
    lat: float
    lng: float
    address: str | None = None
    version: int = 0
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class NearbyFacility:
    facility: Facility
    distance_m: int


def near(lat: float, lng: float, radius_m: int, type_: FacilityType | None, limit: int) -> list[NearbyFacility]:
    """Facilities within ``radius_m`` of a point, nearest first."""
    geo.check_point(lat, lng)
    return deps().facilities.near(lat, lng, radius_m, type_, limit)


def create(data: FacilityIn) -> Facility:
    geo.check_point(data.lat, data.lng)
    stamp = now_iso()
    facility = Facility(
        facility_id=data.facility_id or new_id("fac"),
        type=FacilityType(data.type),
        name=data.name,
        lat=data.lat,
        lng=data.lng,
        address=data.address,
        created_at=stamp,
        updated_at=stamp,
    )
    saved = deps().facilities.create(facility)
    _refresh_estates_near(saved.lat, saved.lng)
    return saved


def update(facility_id: str, changes: FacilityPatch, version: int) -> Facility:
    current = deps().facilities.get(facility_id)
    expect_version(current.version, version)
    values = edits(changes.model_dump(mode="json"), {"type", "name", "lat", "lng", "address"})
    if "type" in values:
        values["type"] = FacilityType(values["type"])
    updated = replace(current, **values, updated_at=now_iso())
    geo.check_point(updated.lat, updated.lng)
    saved = deps().facilities.save(current, updated)
    _refresh_estates_near(current.lat, current.lng)
    if (saved.lat, saved.lng) != (current.lat, current.lng):
        _refresh_estates_near(saved.lat, saved.lng)
    return saved


def _refresh_estates_near(lat: float, lng: float) -> None:
    """Estates keep their nearby list precomputed, so an estate page is one read."""
    radius = deps().settings.nearby_radius_m
    d = geo.lng_delta(lat, radius)
    dlat = radius / 111_320.0
    pins, _ = deps().estates.in_box((lng - d, lat - dlat, lng + d, lat + dlat), 10_000)
    for pin in pins:
        deps().estates.set_nearby(pin.estate_id, deps().facilities.nearest(pin.lat, pin.lng))
