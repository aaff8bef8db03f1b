"""Estates: one item each (buildings, unit mix and nearby facilities inside), so a page is one read."""
from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain import geo
from chalicelib.domain.common import Page
from chalicelib.domain.estates import Estate, EstatePin
from chalicelib.domain.units import Layout
from chalicelib.repositories.common import is_condition_failure, plain, put_new
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import EstateRecord

EMPTY_MIX = {layout.value: {"total": 0, "vacant": 0} for layout in Layout}


class EstateRepository:
    def __init__(self, settings: Settings) -> None:
        self.city = settings.city_code

    def get(self, estate_id: str) -> Estate:
        try:
            return to_estate(EstateRecord.get(estate_id))
        except EstateRecord.DoesNotExist:
            raise errors.EstateNotFound(estate_id, field="estate") from None

    def list(self, area: str | None, street: str | None, cursor: str | None, limit: int) -> Page[Estate]:
        if street:
            target, hash_attr, hash_key = EstateRecord.by_street, "street_id", street
        elif area:
            target, hash_attr, hash_key = EstateRecord.by_area, "area_id", area
        else:
            target, hash_attr, hash_key = EstateRecord.by_city, "city", self.city
        records, next_cursor = query_page(
            target, hash_key,
            key_names=("estate_id", hash_attr, "list_key"),
            scope=f"estates|{hash_attr}|{hash_key}",
            limit=limit, cursor=cursor,
        )
        return Page([to_estate(r) for r in records], next_cursor)

    def in_box(self, bbox: tuple[float, float, float, float], limit: int) -> tuple[list[EstatePin], bool]:
        """One key-range query over the city's estates sorted by longitude, latitude filtered."""
        min_lng, min_lat, max_lng, max_lat = bbox
        records, cursor = query_page(
            EstateRecord.by_lng, self.city,
            key_names=("estate_id", "city", "lng_key"),
            scope="estates|by_lng",
            range_condition=EstateRecord.lng_key.between(geo.lng_key(min_lng), geo.lng_key(max_lng, "~")),
            filter_condition=EstateRecord.lat.between(min_lat, max_lat),
            limit=limit, cursor=None,
        )
        pins = [
            EstatePin(r.estate_id, r.name, r.area_id, r.street_id, r.address, float(r.lat), float(r.lng),
                      int(r.units_total), int(r.units_vacant))
            for r in records
        ]
        return pins, cursor is not None

    def create(self, estate: Estate) -> Estate:
        record = to_record(estate, self.city)
        record.unit_mix = dict(EMPTY_MIX)  # every layout present, so unit writes can add to it
        record.version = 1
        put_new(record, EstateRecord.estate_id.does_not_exist(), errors.AlreadyExists(estate.estate_id, field="estate_id"))
        return to_estate(record)

    def save(self, current: Estate, updated: Estate) -> Estate:
        """Write descriptive fields if nobody changed the estate since ``current`` was read."""
        record = EstateRecord(current.estate_id)
        actions = [
            EstateRecord.name.set(updated.name),
            EstateRecord.address.set(updated.address),
            EstateRecord.lat.set(updated.lat),
            EstateRecord.lng.set(updated.lng),
            EstateRecord.lng_key.set(geo.lng_key(updated.lng, updated.estate_id)),
            EstateRecord.manager.set(updated.manager) if updated.manager else EstateRecord.manager.remove(),
            EstateRecord.buildings.set(updated.buildings),
            EstateRecord.nearby.set(updated.nearby),
            EstateRecord.photos.set(updated.photos),
            EstateRecord.updated_at.set(updated.updated_at),
            EstateRecord.version.add(1),
        ]
        if updated.description is not None:
            actions.append(EstateRecord.description.set(updated.description))
        try:
            record.update(actions=actions, condition=EstateRecord.version == current.version)
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise errors.StaleVersion(field="version") from None
            raise
        return to_estate(record)

    def set_nearby(self, estate_id: str, nearby: list[dict[str, Any]]) -> None:
        """Derived data: written without touching the version admins edit against."""
        EstateRecord(estate_id).update(
            actions=[EstateRecord.nearby.set(nearby)], condition=EstateRecord.estate_id.exists()
        )


def to_record(e: Estate, city: str) -> EstateRecord:
    return EstateRecord(
        e.estate_id, city=city, name=e.name, area_id=e.area_id, street_id=e.street_id, address=e.address,
        lat=e.lat, lng=e.lng, description=e.description, manager=e.manager, buildings=e.buildings,
        unit_mix=e.unit_mix, units_total=e.units_total, units_vacant=e.units_vacant, nearby=e.nearby,
        photos=e.photos, list_key=f"{e.area_id}#{e.street_id}#{e.estate_id}",
        lng_key=geo.lng_key(e.lng, e.estate_id), created_at=e.created_at, updated_at=e.updated_at,
        version=e.version,
    )


def to_estate(r: EstateRecord) -> Estate:
    return Estate(
        estate_id=r.estate_id, name=r.name, area_id=r.area_id, street_id=r.street_id, address=r.address,
        lat=float(r.lat), lng=float(r.lng), description=r.description,
        manager=plain(r.manager) if r.manager else None, buildings=plain(list(r.buildings or [])),
        unit_mix=plain(r.unit_mix or {}), units_total=int(r.units_total or 0),
        units_vacant=int(r.units_vacant or 0), nearby=plain(list(r.nearby or [])),
        photos=list(r.photos or []), version=int(r.version or 0), created_at=r.created_at,
        updated_at=r.updated_at,
    )
