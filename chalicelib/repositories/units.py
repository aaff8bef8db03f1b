"""Units: searches are key-range queries on indexes sorted "{status}#{rent}#{id}"; every write
moves the estate, area and street counters in the same transaction, so the counts never drift."""
from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from pynamodb.expressions.condition import Condition

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain.common import Page
from chalicelib.domain.units import Layout, StatusChange, Unit, UnitSearch, UnitStatus
from chalicelib.repositories.areas import area_key, street_key
from chalicelib.repositories.common import transaction
from chalicelib.repositories.paging import query_page
from chalicelib.repositories.tables import AreaRecord, EstateRecord, UnitHistoryRecord, UnitRecord

RENT_DIGITS = 9  # fen: up to 9,999,999.99 yuan a month


def search_key(status: UnitStatus, rent: int, unit_id: str) -> str:
    return f"{status.value}#{rent:0{RENT_DIGITS}d}#{unit_id}"


class UnitRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.city = settings.city_code

    def get(self, unit_id: str) -> Unit:
        try:
            return to_unit(UnitRecord.get(unit_id))
        except UnitRecord.DoesNotExist:
            raise errors.UnitNotFound(unit_id) from None

    def search(self, q: UnitSearch) -> Page[Unit]:
        filters: list[Condition] = []
        if q.estate:
            index, hash_attr, hash_key = UnitRecord.by_estate, "estate_id", q.estate
            if q.area:
                filters.append(UnitRecord.area_id == q.area)
            if q.layout:
                filters.append(UnitRecord.layout == q.layout.value)
        elif q.area and q.layout:
            index, hash_attr, hash_key = UnitRecord.by_area_layout, "area_layout", f"{q.area}#{q.layout.value}"
        elif q.area:
            index, hash_attr, hash_key = UnitRecord.by_area, "area_id", q.area
        elif q.layout:
            index, hash_attr, hash_key = UnitRecord.by_layout, "layout", q.layout.value
        else:
            index, hash_attr, hash_key = UnitRecord.by_city, "city", self.city

        range_condition = None
        if q.status is not None:
            low = f"{q.status.value}#"
            if q.max_rent is not None:  # rent is in the sort key: the ceiling narrows the range
                range_condition = UnitRecord.search_key.between(low, f"{low}{q.max_rent:0{RENT_DIGITS}d}#~")
            else:
                range_condition = UnitRecord.search_key.startswith(low)
        elif q.max_rent is not None:
            filters.append(UnitRecord.rent <= q.max_rent)
        if q.min_area is not None:
            filters.append(UnitRecord.floor_area >= q.min_area)

        filter_condition = None
        for f in filters:
            filter_condition = f if filter_condition is None else filter_condition & f
        records, cursor = query_page(
            index, hash_key,
            key_names=("unit_id", hash_attr, "search_key"),
            scope=f"units|{hash_attr}|{hash_key}|{q.status}|{q.max_rent}|{q.min_area}|{q.area}|{q.layout}",
            range_condition=range_condition, filter_condition=filter_condition,
            limit=q.limit, cursor=q.cursor,
        )
        return Page([to_unit(r) for r in records], cursor)

    def create(self, unit: Unit, actor_id: str, actor_role: str) -> Unit:
        record = to_record(unit, self.city)
        vacant = 1 if unit.status is UnitStatus.VACANT else 0
        with transaction(self.settings, errors.AlreadyExists(unit.unit_id, field="number")) as tx:
            tx.save(record, condition=UnitRecord.unit_id.does_not_exist())
            self._count(tx, unit, total=1, vacant=vacant)
            tx.save(self._history(StatusChange(unit.unit_id, unit.created_at, None, unit.status,
                                               actor_id, actor_role, "created")))
        return replace(unit, version=1)

    def update(self, current: Unit, updated: Unit) -> Unit:
        record = to_record(current, self.city)
        actions = [
            UnitRecord.layout.set(updated.layout.value),
            UnitRecord.area_layout.set(f"{updated.area_id}#{updated.layout.value}"),
            UnitRecord.floor_area.set(updated.floor_area),
            UnitRecord.floor.set(updated.floor),
            UnitRecord.rent.set(updated.rent),
            UnitRecord.search_key.set(search_key(updated.status, updated.rent, updated.unit_id)),
            UnitRecord.photos.set(updated.photos),
            UnitRecord.updated_at.set(updated.updated_at),
        ]
        if updated.orientation:
            actions.append(UnitRecord.orientation.set(updated.orientation))
        with transaction(self.settings, errors.StaleVersion(field="version")) as tx:
            tx.update(record, actions=actions)  # PynamoDB adds "version = current" and bumps it
            if updated.layout is not current.layout:  # the estate's unit mix follows the layout
                vacant = 1 if current.status is UnitStatus.VACANT else 0
                self._mix(tx, current.estate_id, {current.layout: (-1, -vacant), updated.layout: (1, vacant)})
        return replace(updated, version=current.version + 1)

    def change_status(self, current: Unit, change: StatusChange) -> Unit:
        record = to_record(current, self.city)
        actions = [
            UnitRecord.status.set(change.to_status.value),
            UnitRecord.search_key.set(search_key(change.to_status, current.rent, current.unit_id)),
            UnitRecord.updated_at.set(change.at),
        ]
        delta = (change.to_status is UnitStatus.VACANT) - (current.status is UnitStatus.VACANT)
        with transaction(self.settings, errors.StaleVersion(field="version")) as tx:
            tx.update(record, actions=actions)
            if delta:
                self._count(tx, current, total=0, vacant=delta)
            tx.save(self._history(change))
        return replace(current, status=change.to_status, updated_at=change.at, version=current.version + 1)

    def history(self, unit_id: str, cursor: str | None, limit: int) -> Page[StatusChange]:
        records, next_cursor = query_page(
            UnitHistoryRecord, unit_id, key_names=("unit_id", "at"), scope=f"unit_history|{unit_id}",
            limit=limit, cursor=cursor,
        )
        return Page(
            [
                StatusChange(r.unit_id, r.at.split("#")[0], UnitStatus(r.from_status) if r.from_status else None,
                             UnitStatus(r.to_status), r.actor, r.actor_role, r.reason)
                for r in records
            ],
            next_cursor,
        )

    # --- counters --------------------------------------------------------------------------
    def _count(self, tx: Any, unit: Unit, *, total: int, vacant: int) -> None:
        """Estate (and its unit mix), area and street counters move with the unit."""
        self._mix(tx, unit.estate_id, {unit.layout: (total, vacant)})
        for key in (area_key(unit.area_id), street_key(unit.street_id)):
            actions = [AreaRecord.units_vacant.set(AreaRecord.units_vacant + vacant)]
            if total:
                actions.append(AreaRecord.units_total.set(AreaRecord.units_total + total))
            tx.update(AreaRecord(self.city, key), actions=actions, condition=AreaRecord.key.exists())

    @staticmethod
    def _mix(tx: Any, estate_id: str, deltas: dict[Layout, tuple[int, int]]) -> None:
        """One update of the estate (a transaction may touch an item once): per layout (total, vacant)."""
        actions = []
        total = sum(t for t, _ in deltas.values())
        vacant = sum(v for _, v in deltas.values())
        if total:
            actions.append(EstateRecord.units_total.set(EstateRecord.units_total + total))
        if vacant:
            actions.append(EstateRecord.units_vacant.set(EstateRecord.units_vacant + vacant))
        for layout, (t, v) in deltas.items():
            mix = EstateRecord.unit_mix[layout.value]
            if t:
                actions.append(mix["total"].set(mix["total"] + t))
            if v:
                actions.append(mix["vacant"].set(mix["vacant"] + v))
        if actions:
            tx.update(EstateRecord(estate_id), actions=actions, condition=EstateRecord.estate_id.exists())

    @staticmethod
    def _history(change: StatusChange) -> UnitHistoryRecord:
        return UnitHistoryRecord(
            change.unit_id, f"{change.at}#{secrets.token_hex(3)}",
            from_status=change.from_status.value if change.from_status else None,
            to_status=change.to_status.value, actor=change.actor, actor_role=change.actor_role,
            reason=change.reason,
        )


def to_record(u: Unit, city: str) -> UnitRecord:
    record = UnitRecord(
        u.unit_id, city=city, estate_id=u.estate_id, building_id=u.building_id, area_id=u.area_id,
        street_id=u.street_id, number=u.number, layout=u.layout.value, floor_area=u.floor_area,
        floor=u.floor, rent=u.rent, status=u.status.value, orientation=u.orientation, photos=u.photos,
        area_layout=f"{u.area_id}#{u.layout.value}", search_key=search_key(u.status, u.rent, u.unit_id),
        created_at=u.created_at, updated_at=u.updated_at,
    )
    if u.version:  # a new record has none yet: PynamoDB sets 1 on first save
        record.version = u.version
    return record


def to_unit(r: UnitRecord) -> Unit:
    return Unit(
        unit_id=r.unit_id, estate_id=r.estate_id, building_id=r.building_id, area_id=r.area_id,
        street_id=r.street_id, number=r.number, layout=Layout(r.layout), floor_area=round(float(r.floor_area), 2),
        floor=int(r.floor), rent=int(r.rent), status=UnitStatus(r.status), orientation=r.orientation,
        photos=list(r.photos or []), version=int(r.version or 0), created_at=r.created_at,
        updated_at=r.updated_at,
    )
