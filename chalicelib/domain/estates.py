"""Estates (项目/小区): location, buildings, unit mix, manager contact and nearby facilities."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.domain import geo
from chalicelib.domain.common import Page, edits, expect_version, now_iso
from chalicelib.deps import deps

if TYPE_CHECKING:
    from chalicelib.bodies import EstateIn, EstatePatch


@dataclass(frozen=True)
class Estate:
    estate_id: str
    name: str
    area_id: str
    street_id: str
    address: str
    lat: float
    lng: float
    description: str | None = None
    manager: dict[str, str] | None = None
    buildings: list[dict[str, Any]] = field(default_factory=list)
    unit_mix: dict[str, dict[str, int]] = field(default_factory=dict)
    units_total: int = 0
    units_vacant: int = 0
    nearby: list[dict[str, Any]] = field(default_factory=list)
    photos: list[str] = field(default_factory=list)
    version: int = 0
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class EstatePin:
    """An estate as a map shows it."""

    estate_id: str
    name: str
    area_id: str
    street_id: str
    address: str
    lat: float
    lng: float
    units_total: int
    units_vacant: int


def get(estate_id: str) -> Estate:
    return deps().estates.get(estate_id)


def list_estates(area: str | None, street: str | None, cursor: str | None, limit: int) -> Page[Estate]:
    if street:  # a street names its area: one read validates both
        found = deps().areas.get_street(street)
        if area and found.area_id != area:
            raise errors.InvalidInput("street is not in area", field="street", message="所选街道不属于所选片区")
    elif area:
        deps().areas.get_area(area)
    # A validation read spends one of the request's two DynamoDB reads.
    return deps().estates.list(area, street, cursor, limit)


def in_box(bbox: tuple[float, float, float, float], limit: int) -> tuple[list[EstatePin], bool]:
    """Estates inside a bounding box, and whether the answer was cut at ``limit``."""
    geo.check_bbox(bbox)
    return deps().estates.in_box(bbox, limit)


def create(data: EstateIn) -> Estate:
    street = deps().areas.get_street(data.street_id)
    if street.area_id != data.area_id:
        raise errors.InvalidInput("street is not in area", field="street_id", message="街道编号不属于所选片区")
    geo.check_point(data.lat, data.lng)
    stamp = now_iso()
    estate = Estate(
        estate_id=data.estate_id,
        name=data.name,
        area_id=data.area_id,
        street_id=data.street_id,
        address=data.address,
        lat=data.lat,
        lng=data.lng,
        description=data.description,
        manager=data.manager.model_dump(mode="json") if data.manager is not None else None,
        photos=list(data.photos),
        created_at=stamp,
        updated_at=stamp,
    )
    estate = replace(estate, nearby=deps().facilities.nearest(estate.lat, estate.lng))
    return deps().estates.create(estate)


def update(estate_id: str, changes: EstatePatch, version: int) -> Estate:
    """Change what describes an estate; moving it recomputes its nearby facilities."""
    current = get(estate_id)
    expect_version(current.version, version)
    values = edits(changes.model_dump(mode="json"), {"name", "address", "lat", "lng", "description", "manager", "photos"})
    updated = replace(current, **values, updated_at=now_iso())
    if (updated.lat, updated.lng) != (current.lat, current.lng):
        geo.check_point(updated.lat, updated.lng)
        updated = replace(updated, nearby=deps().facilities.nearest(updated.lat, updated.lng))
    return deps().estates.save(current, updated)


def put_building(estate_id: str, building: dict[str, Any], version: int) -> Estate:
    """Add or replace one building (楼栋) of an estate (no lift unless said: ``elevator`` false)."""
    building = {**building, "elevator": bool(building.get("elevator", False))}
    current = get(estate_id)
    expect_version(current.version, version)
    others = [b for b in current.buildings if b["building_id"] != building["building_id"]]
    buildings = sorted([*others, building], key=lambda b: b["building_id"])
    return deps().estates.save(current, replace(current, buildings=buildings, updated_at=now_iso()))
