"""An import group's writes in one transaction (docs/decisions/0036): new records on condition they do
not exist, changed ones on condition their import hash (and a unit's version) is still what the plan
read, and the group's own progress item (its counts and the estate, area and street counters its
records move, on condition it does not exist yet). The counters themselves are moved once per chunk
(``Counters.write``, summed over the chunk's groups: one update per counter item, not one per group).
The records are the app's own (``to_record`` of estates, units, leases): an imported unit or lease is a
unit or lease like any other."""
from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from chalicelib.config import Settings
from chalicelib.domain.units import Layout, UnitStatus
from chalicelib.repositories import estates as estate_records
from chalicelib.repositories import units as unit_records
from chalicelib.repositories.areas import area_key, street_key
from chalicelib.repositories.leases import lease_record
from chalicelib.repositories.tables import AreaRecord, EstateRecord, HouseholdRecord, LeaseRecord, UnitRecord


class Counters:
    """Counter deltas of a group (or a chunk's groups summed): per estate and layout (total, vacant),
    per area or street key."""

    def __init__(self) -> None:
        self.mix: dict[str, dict[Layout, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
        self.places: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def dumps(self) -> str:
        return json.dumps({"mix": {e: {layout.value: c for layout, c in d.items()} for e, d in self.mix.items()},
                           "places": self.places}, separators=(",", ":"), sort_keys=True)

    def add(self, text: str | None) -> None:
        """A group's deltas (``dumps``) added to these."""
        found = json.loads(text or "{}")
        for estate_id, deltas in (found.get("mix") or {}).items():
            for layout, (t, v) in deltas.items():
                cell = self.mix[estate_id][Layout(layout)]
                cell[0] += t
                cell[1] += v
        for key, (t, v) in (found.get("places") or {}).items():
            self.places[key][0] += t
            self.places[key][1] += v

    def writes(self, city: str) -> list[Any]:
        """One write per counter item that moves (``tx`` -> None), in a stable order: a redelivered
        chunk cuts them into the same transactions."""
        out: list[Any] = []
        for estate_id in sorted(self.mix):
            kept = {layout: (t, v) for layout, (t, v) in self.mix[estate_id].items() if t or v}
            if kept:
                out.append(lambda tx, e=estate_id, k=kept: unit_records.UnitRepository._mix(tx, e, k))
        for key in sorted(self.places):
            total, vacant = self.places[key]
            actions = []
            if vacant:
                actions.append(AreaRecord.units_vacant.set(AreaRecord.units_vacant + vacant))
            if total:
                actions.append(AreaRecord.units_total.set(AreaRecord.units_total + total))
            if actions:
                out.append(lambda tx, k=key, a=actions: tx.update(AreaRecord(city, k), actions=a,
                                                                   condition=AreaRecord.key.exists()))
        return out

    def move(self, estate_id: str, area_id: str, street_id: str, layout: Layout, total: int, vacant: int) -> None:
        cell = self.mix[estate_id][layout]
        cell[0] += total
        cell[1] += vacant
        for key in (area_key(area_id), street_key(street_id)):
            self.places[key][0] += total
            self.places[key][1] += vacant


def _hash_is(attr: Any, old: str | None) -> Any:
    return attr.does_not_exist() if old is None else attr == old


def build_group(tx: Any, settings: Settings, imp: Any, ops: list[tuple[str, Any]], marker: Any) -> None:
    """The group's records, then ``marker(counters)``: the group's progress item with the counter
    deltas its records move."""
    city = settings.city_code
    counters = Counters()
    for kind, (obj, d) in ops:
        if kind == "new_estate":
            record = estate_records.to_record(obj, city)
            record.unit_mix = dict(estate_records.EMPTY_MIX)
            record.version, record.import_hash = 1, d["import_hash"]
            tx.save(record, condition=EstateRecord.estate_id.does_not_exist())
        elif kind == "estate_change":
            from chalicelib.domain import geo

            E = EstateRecord
            actions = [E.name.set(d["name"]), E.address.set(d["address"]), E.lat.set(d["lat"]), E.lng.set(d["lng"]),
                       E.lng_key.set(geo.lng_key(d["lng"], d["estate_id"])), E.import_hash.set(d["import_hash"]),
                       E.updated_at.set(d["at"])]
            if d["description"]:
                actions.append(E.description.set(d["description"]))
            if d["manager"]:
                actions.append(E.manager.set(d["manager"]))
            tx.update(E(d["estate_id"]), actions=actions, condition=_hash_is(E.import_hash, d["old_hash"]))
        elif kind == "buildings":
            E = EstateRecord
            tx.update(E(d["estate_id"]), actions=[E.buildings.set(d["buildings"]), E.updated_at.set(d["at"])],
                      condition=E.updated_at == d["expected"])
        elif kind == "new_unit":
            record = unit_records.to_record(obj, city)
            record.import_hash = d["import_hash"]
            tx.put_new(record, "unit_id")
            counters.move(obj.estate_id, obj.area_id, obj.street_id, obj.layout, 1, int(obj.status is UnitStatus.VACANT))
        elif kind == "unit_change":
            _unit_change(tx, obj, d, counters)
        elif kind in ("new_household", "household_change"):
            _household(tx, imp, obj, d, counters, kind == "new_household")
    marker(counters)


def _unit_change(tx: Any, unit: Any, d: dict[str, Any], counters: Counters) -> None:
    U = UnitRecord
    record = U(unit.unit_id)
    record.version = d["version"]
    status = UnitStatus(d["status"])
    tx.update(record, actions=[
        U.layout.set(unit.layout.value), U.area_layout.set(f"{unit.area_id}#{unit.layout.value}"),
        U.floor_area.set(unit.floor_area), U.floor.set(unit.floor), U.rent.set(unit.rent), U.number.set(unit.number),
        U.building_id.set(unit.building_id),
        U.search_key.set(unit_records.search_key(status, unit.rent, unit.unit_id)), U.updated_at.set(d["at"]),
        U.import_hash.set(d["import_hash"])] + ([U.orientation.set(unit.orientation)] if unit.orientation else []),
        condition=_hash_is(U.import_hash, d["old_hash"]))
    old = Layout(d["old_layout"])
    if old is not unit.layout:
        vacant = int(status is UnitStatus.VACANT)
        counters.move(unit.estate_id, unit.area_id, unit.street_id, old, -1, -vacant)
        counters.move(unit.estate_id, unit.area_id, unit.street_id, unit.layout, 1, vacant)


def _household(tx: Any, imp: Any, lease: Any, d: dict[str, Any], counters: Counters, new: bool) -> None:
    H = HouseholdRecord
    main_key = next(m["person_key"] for m in d["members"] if m["relation"] == "self")
    leases = [lease.lease_id] if lease is not None else []
    if new:
        tx.save(H(d["household_id"], owner=None, main_key=main_key, members=d["members"], created_by=f"import:{imp.import_id}",
                  created_at=d["at"], updated_at=d["at"], version=1, import_hash=d["import_hash"], leases=leases),
                condition=H.household_id.does_not_exist())
    else:
        actions = [H.members.set(d["members"]), H.main_key.set(main_key), H.import_hash.set(d["import_hash"]),
                   H.updated_at.set(d["at"]), H.version.add(1)]
        if leases:
            actions.append(H.leases.set(leases))
        tx.update(H(d["household_id"]), actions=actions, condition=H.import_hash == d["old_hash"])
    if lease is None:
        return
    if d["new_lease"]:
        tx.save(lease_record(lease), condition=LeaseRecord.lease_id.does_not_exist())
        unit = d["unit"]
        record = UnitRecord(unit["unit_id"])
        record.version = unit["version"]
        tx.update(record, actions=[
            UnitRecord.status.set(UnitStatus.LEASED.value),
            UnitRecord.search_key.set(unit_records.search_key(UnitStatus.LEASED, int(unit["rent"]), unit["unit_id"])),
            UnitRecord.updated_at.set(d["at"])], condition=UnitRecord.status == UnitStatus.VACANT.value)
        tx.save(unit_records.UnitRepository._history(_leased(unit, d["at"], imp.import_id)))
        counters.move(unit["estate_id"], unit["area_id"], unit["street_id"], Layout(unit["layout"]), 0, -1)
        return
    L = LeaseRecord
    tx.update(L(lease.lease_id), actions=[
        L.monthly_rent.set(lease.monthly_rent), L.deposit.set(lease.deposit), L.start_date.set(lease.start_date),
        L.end_date.set(lease.end_date), L.term_months.set(lease.term_months), L.household_size.set(lease.household_size),
        L.tenant_name.set(lease.tenant_name), L.updated_at.set(d["at"])], condition=L.lease_id.exists())


def _leased(unit: dict[str, Any], at: str, import_id: str) -> Any:
    from chalicelib.domain.units import StatusChange

    return StatusChange(unit["unit_id"], at, UnitStatus(unit["status"]), UnitStatus.LEASED, f"import:{import_id}", "admin",
                        "imported lease")

