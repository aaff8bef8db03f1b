"""Units (房源): layouts, the status lifecycle, and the unit search."""
from __future__ import annotations

import enum
from enum import StrEnum
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from chalicelib import errors
from chalicelib.domain.common import Page, edits, expect_version, now_iso
from chalicelib.deps import deps
from chalicelib.domain.lifecycle import Lifecycle

if TYPE_CHECKING:
    from chalicelib.bodies import UnitIn, UnitPatch


class Layout(str, enum.Enum):
    STUDIO = "studio"
    ONE_BED = "1b1l"
    TWO_BED = "2b1l"
    TWO_BED_TWO_LIVING = "2b2l"
    THREE_BED = "3b1l"
    THREE_BED_TWO_LIVING = "3b2l"


LAYOUT_NAMES = {
    Layout.STUDIO: "单间",
    Layout.ONE_BED: "一房一厅",
    Layout.TWO_BED: "两房一厅",
    Layout.TWO_BED_TWO_LIVING: "两房两厅",
    Layout.THREE_BED: "三房一厅",
    Layout.THREE_BED_TWO_LIVING: "三房两厅",
}


class UnitStatus(StrEnum):
    VACANT = "vacant"
    RESERVED = "reserved"
    LEASED = "leased"
    UNDER_REPAIR = "under_repair"


STATUS_NAMES = {
    UnitStatus.VACANT: "空置可租",
    UnitStatus.RESERVED: "已预定",
    UnitStatus.LEASED: "已出租",
    UnitStatus.UNDER_REPAIR: "维修中",
}

#: The one transition table of the unit lifecycle; anything else is an IllegalTransition (409).
TRANSITIONS: dict[UnitStatus, frozenset[UnitStatus]] = {
    UnitStatus.VACANT: frozenset({UnitStatus.RESERVED, UnitStatus.UNDER_REPAIR}),
    UnitStatus.RESERVED: frozenset({UnitStatus.VACANT, UnitStatus.LEASED}),
    UnitStatus.LEASED: frozenset({UnitStatus.VACANT, UnitStatus.UNDER_REPAIR}),
    UnitStatus.UNDER_REPAIR: frozenset({UnitStatus.VACANT}),
}
UNITS: Lifecycle[UnitStatus] = Lifecycle("unit", UnitStatus.VACANT, TRANSITIONS, names=STATUS_NAMES)


@dataclass(frozen=True)
class Unit:
    unit_id: str
    estate_id: str
    building_id: str
    area_id: str
    street_id: str
    number: str
    layout: Layout
    floor_area: float
    floor: int
    rent: int  # fen per month
    status: UnitStatus
    orientation: str | None = None
    photos: list[str] = field(default_factory=list)
    version: int = 0
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class StatusChange:
    unit_id: str
    at: str
    from_status: UnitStatus | None
    to_status: UnitStatus
    actor: str
    actor_role: str
    reason: str | None


@dataclass(frozen=True)
class UnitSearch:
    """The public unit search. Any combination is served by one key-range query (never a Scan)."""

    area: str | None = None
    estate: str | None = None
    layout: Layout | None = None
    status: UnitStatus | None = None
    min_area: float | None = None
    max_rent: int | None = None
    limit: int = 20
    cursor: str | None = None


def unit_id_for(estate_id: str, building_id: str, number: str) -> str:
    """Units are named by place, so a repeated create is a conflict rather than a duplicate."""
    return f"{estate_id}.{building_id}.{number}".lower()


def get(unit_id: str) -> Unit:
    return deps().units.get(unit_id)


def search(query: UnitSearch) -> Page[Unit]:
    if query.estate:
        deps().estates.get(query.estate)  # an unknown estate is a 404, not an empty list
        return deps().units.search(query)
    return deps().units.search(query)


def create(data: UnitIn, actor_id: str, actor_role: str) -> Unit:
    estate = deps().estates.get(data.estate_id)
    if not any(b["building_id"] == data.building_id for b in estate.buildings):
        raise errors.BuildingNotFound(data.building_id, field="building_id")
    stamp = now_iso()
    unit = Unit(
        unit_id=unit_id_for(estate.estate_id, data.building_id, data.number),
        estate_id=estate.estate_id,
        building_id=data.building_id,
        area_id=estate.area_id,
        street_id=estate.street_id,
        number=data.number,
        layout=Layout(data.layout),
        floor_area=round(float(data.floor_area), 2),
        floor=int(data.floor),
        rent=int(data.rent),
        status=UnitStatus(data.status or UnitStatus.VACANT),
        orientation=data.orientation,
        photos=list(data.photos),
        created_at=stamp,
        updated_at=stamp,
    )
    return deps().units.create(unit, actor_id, actor_role)


def update(unit_id: str, changes: UnitPatch, version: int) -> Unit:
    """Change a unit's description (rent, area, layout, floor, photos); status has its own path."""
    current = get(unit_id)
    expect_version(current.version, version)
    values = edits(changes.model_dump(mode="json"), {"layout", "floor_area", "floor", "rent", "orientation", "photos"})
    if "layout" in values:
        values["layout"] = Layout(values["layout"])
    if "floor_area" in values:
        values["floor_area"] = round(float(values["floor_area"]), 2)
    updated = replace(current, **values, updated_at=now_iso())
    return deps().units.update(current, updated)


def change_status(
    unit_id: str, to: UnitStatus, version: int, reason: str | None, actor_id: str, actor_role: str
) -> Unit:
    current = get(unit_id)
    expect_version(current.version, version)
    change = StatusChange(unit_id, now_iso(), current.status, UNITS.move(current.status, to), actor_id, actor_role,
                          reason)
    return deps().units.change_status(current, change)


def history(unit_id: str, cursor: str | None, limit: int) -> Page[StatusChange]:
    get(unit_id)
    return deps().units.history(unit_id, cursor, limit)


def check_layouts_by_size(data: Any, where: str = "layouts_by_size") -> dict[str, list[str]]:
    if not isinstance(data, dict) or not data:
        raise errors.InvalidInput("household sizes to layouts, e.g. {\"1\": [\"studio\"]}", field=where,
                                  message="各人数可选户型应为 家庭人数 -> 户型列表，如 {\"1\": [\"studio\"]}")
    out: dict[str, list[str]] = {}
    for key, layouts in data.items():
        size = str(key)
        number = size.removesuffix("+")
        if not number.isdigit() or not 1 <= int(number) <= 20:
            raise errors.InvalidInput("a household size 1-20, or e.g. \"5+\"", field=f"{where}.{size}",
                                      message="各人数可选户型中的家庭人数应为 1-20，或如 \"5+\" 表示 5 人及以上")
        if not isinstance(layouts, list) or not layouts:
            raise errors.InvalidInput("a list of layouts", field=f"{where}.{size}", message="各人数可选户型中每个人数应对应一个户型列表")
        try:
            out[size] = list(dict.fromkeys(Layout(x).value for x in layouts))
        except ValueError:
            raise errors.InvalidInput(f"layouts: {', '.join(x.value for x in Layout)}", field=f"{where}.{size}",
                                      message=f"户型应为以下之一：{'、'.join(x.value for x in Layout)}") \
                from None
    return out
