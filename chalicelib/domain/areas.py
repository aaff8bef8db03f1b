"""Areas (片区) and their streets (街道), with unit and vacancy counts kept by unit writes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chalicelib.deps import deps

if TYPE_CHECKING:
    from chalicelib.bodies import AreaIn, StreetIn


@dataclass(frozen=True)
class Street:
    street_id: str
    area_id: str
    name: str
    units_total: int = 0
    units_vacant: int = 0


@dataclass(frozen=True)
class Area:
    area_id: str
    name: str
    district: str | None = None
    units_total: int = 0
    units_vacant: int = 0
    streets: list[Street] = field(default_factory=list)


def list_areas() -> list[Area]:
    return deps().areas.list()


def create_area(data: AreaIn) -> Area:
    return deps().areas.create_area(Area(data.area_id, data.name, data.district))


def create_street(area_id: str, data: StreetIn) -> Street:
    deps().areas.get_area(area_id)
    return deps().areas.create_street(Street(data.street_id, area_id, data.name))
