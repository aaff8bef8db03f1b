"""What a chunk of the export means, kind by kind (estates, buildings, units, tenants): each row
parsed into a record (or refused), the records compared with what is stored by a content hash
(unchanged: nothing written; new: created; different: updated by the national system's id; nothing
is ever deleted), and the writes grouped into transactions of at most 100 items: a unit with the
counters it moves, a household with its members, its lease and its unit, land together or not at
all. Groups are cut from the rows alone (never from what is stored), so a retried chunk forms the
same groups and skips those already written. docs/decisions/0036."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from chalicelib import errors
from chalicelib.domain import import_rows as r
from chalicelib.domain.import_rows import Refused, RowError

#: Items a transaction may carry (DynamoDB: 100), one kept for the chunk's progress item.
TX_ITEMS = 99
#: The most rows one group takes (a transaction's size in bytes stays well under 4 MB).
GROUP_ROWS = 96


def content_hash(values: Any) -> str:
    """The content a record was imported from (its rows' values, canonical JSON): equal hash, nothing to write."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


@dataclass
class Entry:
    """One record of the file (a household: all its rows) with what it became."""

    rows: list[int]
    key: str
    data: dict[str, Any]
    digest: str
    cost: int  # the most transaction items it can need (a bound from the rows, not from the store)
    group_key: str = ""  # rows sharing it share counter items (e.g. the estate)


@dataclass
class Outcome:
    """A group's plan: the writes (``ops``, for the repository) and what each record became."""

    ops: list[tuple[str, Any]] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused_rows: int = 0
    errors: list[RowError] = field(default_factory=list)


def groups(entries: list[Entry]) -> list[list[Entry]]:
    """Consecutive entries whose bounds fit one transaction (each group key's counters counted once)."""
    out: list[list[Entry]] = []
    current: list[Entry] = []
    items, rows, seen = 0, 0, set()
    for e in entries:
        extra = 0 if e.group_key in seen else 3
        if current and (items + e.cost + extra > TX_ITEMS or rows + len(e.rows) > GROUP_ROWS):
            out.append(current)
            current, items, rows, seen = [], 0, 0, set()
            extra = 3
        current.append(e)
        items += e.cost + extra
        rows += len(e.rows)
        seen.add(e.group_key)
    if current:
        out.append(current)
    return out


def refuse(row: int, exc: Refused, labels: dict[str, str]) -> RowError:
    return RowError(row, labels.get(exc.field, exc.field), exc.code, exc.message)


# --- parsing: rows -> entries ------------------------------------------------------------------------
def parse(kind: str, rows: list[tuple[int, dict[str, str]]], labels: dict[str, str],
          tables: dict[str, dict[str, str]]) -> tuple[list[Entry], list[RowError]]:
    parsers: dict[str, Callable[[dict[str, str]], tuple[str, dict[str, Any], str]]] = {
        "estates": _estate, "buildings": _building, "units": _unit}
    entries: list[Entry] = []
    refused: list[RowError] = []
    if kind == "tenants":
        return _households(rows, labels, tables)
    for n, values in rows:
        try:
            key, data, group_key = parsers[kind](r.translate(values, tables))
        except Refused as exc:
            refused.append(refuse(n, exc, labels))
            continue
        # the hash is of what the row means (parsed), not of its spelling: an export of ours (exports.py)
        # re-imported is unchanged although it writes 22.542 where the national file had 22.5420; a unit's
        # status only seeds a new unit (an update keeps the stored one), so it is not part of its content
        entries.append(Entry([n], key, data, content_hash({k: x for k, x in data.items()
                                                           if not (kind == "units" and k == "status")}), 1, group_key))
    return entries, refused


def _estate(v: dict[str, str]) -> tuple[str, dict[str, Any], str]:
    from chalicelib.domain import geo

    lat, lng = r.number(v, "lat", -90, 90), r.number(v, "lng", -180, 180)
    try:
        geo.check_point(float(lat or 0), float(lng or 0))
    except errors.InvalidInput:
        raise Refused("lat", "IMPORT_BAD_VALUE", "坐标应在中国境内") from None
    manager = {k: r.text(v, f"manager_{k}", required=False) for k in ("company", "phone")}
    data = {"estate_id": r.national(v, "national_id"), "name": r.text(v, "name", limit=50),
            "area_id": r.text(v, "area_id", limit=64), "street_id": r.text(v, "street_id", limit=64),
            "address": r.text(v, "address"), "lat": lat, "lng": lng,
            "description": r.text(v, "description", required=False, limit=2000) or None,
            # as an admin's estate has it: the company and its phone, or none
            "manager": {**manager, "contact": None} if manager["company"] and manager["phone"] else None}
    return data["estate_id"], data, data["estate_id"]


def _building(v: dict[str, str]) -> tuple[str, dict[str, Any], str]:
    estate = r.national(v, "estate_national_id")
    building = r.national(v, "building_id")
    floors = r.number(v, "floors", 1, 200, whole=True, required=False)
    data = {"estate_id": estate, "building_id": building, "name": r.text(v, "name", limit=50),
            "floors": int(floors) if floors is not None else None,
            "elevator": r.choice(v, "elevator", {"true": True, "false": False, "是": True, "否": False, "有": True,
                                                 "无": False}, required=False) or False}
    return f"{estate}/{building}", data, estate


def _unit(v: dict[str, str]) -> tuple[str, dict[str, Any], str]:
    from chalicelib.domain.units import Layout, UnitStatus

    estate = r.national(v, "estate_national_id")
    status = r.choice(v, "status", {x.value: x for x in UnitStatus}, required=False) or UnitStatus.VACANT
    data = {"unit_id": r.national(v, "national_id"), "estate_id": estate,
            "building_id": r.national(v, "building_id"), "number": r.text(v, "number", limit=20),
            "layout": r.choice(v, "layout", {x.value: x for x in Layout}),
            "floor_area": round(float(r.number(v, "floor_area", 1, 1000) or 0), 2),
            "floor": int(r.number(v, "floor", -5, 200, whole=True) or 0), "rent": r.money(v, "rent"),
            "orientation": r.text(v, "orientation", required=False, limit=20) or None, "status": status}
    return data["unit_id"], data, estate


def _households(rows: list[tuple[int, dict[str, str]]], labels: dict[str, str],
                tables: dict[str, dict[str, str]]) -> tuple[list[Entry], list[RowError]]:
    """Rows of one household are consecutive (the splitter keeps them in one chunk); a household
    with one bad row is refused whole (every row reported)."""
    entries: list[Entry] = []
    refused: list[RowError] = []
    batch: list[tuple[int, dict[str, str]]] = []
    for n, values in rows + [(0, {})]:
        if batch and values.get("household_national_id") == batch[0][1].get("household_national_id"):
            batch.append((n, values))
            continue
        if batch:
            try:
                entries.append(_household(batch, tables))
            except Refused as exc:
                bad = getattr(exc, "row", batch[0][0])
                refused.append(refuse(bad, exc, labels))
                refused += [RowError(m, "", "IMPORT_HOUSEHOLD_REFUSED", r.CODES["IMPORT_HOUSEHOLD_REFUSED"])
                            for m, _ in batch if m != bad]
        batch = [(n, values)] if n else []
    return entries, refused


def _household(batch: list[tuple[int, dict[str, str]]], tables: dict[str, dict[str, str]]) -> Entry:
    from chalicelib.domain.households import RELATIONS
    from chalicelib.domain.idnumbers import parse_mobile

    members, lease = [], None
    household = ""
    for n, raw in batch:
        v = r.translate(raw, tables)
        try:
            household = r.national(v, "household_national_id")
            relation = r.choice(v, "relation", {k: k for k in RELATIONS})
            member = {"relation": relation, "name": r.text(v, "name", limit=50), "id_number": r.text(v, "id_number"),
                      "hukou": r.choice(v, "hukou", {"local": "local", "non_local": "non_local"}, required=False)
                      or "local", "monthly_income": r.money(v, "monthly_income", required=False) or 0}
            mobile = v.get("mobile", "")
            if mobile:
                try:
                    member["mobile"] = parse_mobile(mobile)
                except errors.InvalidInput:
                    raise Refused("mobile", "IMPORT_BAD_VALUE", "手机号码应为 11 位") from None
            if v.get("lease_national_id"):
                if lease is not None or relation != "self":
                    raise Refused("lease_national_id", "IMPORT_BAD_VALUE", "合同应登记在承租人本人一行，每户一份")
                lease = {"lease_id": "lsi_" + r.national(v, "lease_national_id"),
                         "unit_id": r.national(v, "unit_national_id"), "monthly_rent": r.money(v, "monthly_rent"),
                         "deposit": r.money(v, "deposit"), "start_date": r.day(v, "start_date"),
                         "end_date": r.day(v, "end_date")}
                if lease["end_date"] <= lease["start_date"]:
                    raise Refused("end_date", "IMPORT_BAD_VALUE", "合同终止日期应晚于起始日期")
        except Refused as exc:
            exc.row = n  # type: ignore[attr-defined]
            raise
        members.append(member)
    checked = _members(members, batch)
    data = {"household_id": "hhi_" + household, "members": checked, "lease": lease,
            "mobile": next((m.get("mobile") for m in members if m["relation"] == "self"), None)}
    # cost: household, lease, unit, unit history (+ the estate/area/street counters the grouping adds)
    return Entry([n for n, _ in batch], data["household_id"], data, household_hash(data), 4,
                 lease["unit_id"] if lease else "")


#: What a household's content hash covers: what is stored of each member (a mobile is not stored).
MEMBER_FIELDS = ("relation", "name", "id_number", "hukou", "monthly_income")


def household_hash(data: dict[str, Any]) -> str:
    """Of what the rows mean (the checked members, the lease), not of their spelling: a tenants export of
    ours (domain/exports.py) writes 本人 where the national file had 承租人, 3200.00 for 3200; imported
    again, it is unchanged."""
    return content_hash({"household_id": data["household_id"], "lease": data["lease"],
                         "members": [{k: m.get(k) for k in MEMBER_FIELDS} for m in data["members"]]})


def _members(members: list[dict[str, Any]], batch: list[tuple[int, dict[str, str]]]) -> list[dict[str, Any]]:
    """The households' own rule for members (domain/households.normalise_members): ID numbers (GB 11643
    check digit), one main tenant who is an adult, no one twice; a refusal names the row."""
    from chalicelib.domain.households import normalise_members

    try:
        return normalise_members([{k: x for k, x in m.items() if k != "mobile"} for m in members])
    except errors.InvalidInput as exc:
        where = (exc.field or "").split(".")
        row = batch[int(where[1])][0] if len(where) > 1 and where[1].isdigit() else batch[0][0]
        is_id = (exc.field or "").endswith("id_number")
        refused = Refused("id_number" if is_id else "relation",
                          "IMPORT_BAD_ID_NUMBER" if is_id else "IMPORT_HOUSEHOLD_INVALID", exc.message or None)
        refused.row = row  # type: ignore[attr-defined]
        raise refused from None


# --- planning: entries + what is stored -> writes ----------------------------------------------------
def plan(kind: str, group: list[Entry], stored: dict[str, dict[str, Any]], labels: dict[str, str],
         at: str) -> Outcome:
    """``stored``: what the repository read for the group (``unit:{id}``, ``estate:{id}``,
    ``street:{area}/{street}``, ``household:{id}``, ``lease:{id}``) as plain dicts."""
    out = Outcome()
    planner = {"estates": _plan_estate, "buildings": _plan_building, "units": _plan_unit,
               "tenants": _plan_household}[kind]
    for e in group:
        try:
            planner(e, stored, out, at)
        except Refused as exc:
            out.refused_rows += len(e.rows)
            out.errors.append(refuse(e.rows[0], exc, labels))
            out.errors += [RowError(m, "", "IMPORT_HOUSEHOLD_REFUSED", r.CODES["IMPORT_HOUSEHOLD_REFUSED"])
                           for m in e.rows[1:]]
    return out


def _plan_estate(e: Entry, stored: dict[str, dict[str, Any]], out: Outcome, at: str) -> None:
    d = e.data
    if f"street:{d['area_id']}/{d['street_id']}" not in stored:
        raise Refused("street_id", "IMPORT_STREET_NOT_FOUND")
    current = stored.get(f"estate:{e.key}")
    if current is not None and current.get("import_hash") == e.digest:
        out.unchanged += 1
        return
    if current is None:
        out.created += 1
        out.ops.append(("new_estate", {**d, "import_hash": e.digest, "at": at}))
    else:
        out.updated += 1
        out.ops.append(("estate_change", {**d, "import_hash": e.digest, "old_hash": current.get("import_hash"),
                                          "at": at}))


def _plan_building(e: Entry, stored: dict[str, dict[str, Any]], out: Outcome, at: str) -> None:
    d = e.data
    estate = stored.get(f"estate:{d['estate_id']}")
    if estate is None:
        raise Refused("estate_national_id", "IMPORT_ESTATE_NOT_FOUND")
    buildings = stored.setdefault(f"buildings:{d['estate_id']}", {"list": list(estate.get("buildings") or [])})
    current = next((b for b in buildings["list"] if b.get("building_id") == d["building_id"]), None)
    if current is not None and current.get("import_hash") == e.digest:
        out.unchanged += 1
        return
    building = {k: x for k, x in {**d, "import_hash": e.digest}.items() if k != "estate_id" and x is not None}
    buildings["list"] = sorted([b for b in buildings["list"] if b.get("building_id") != d["building_id"]] + [building],
                               key=lambda b: b["building_id"])
    if current is None:
        out.created += 1
    else:
        out.updated += 1
    out.ops = [op for op in out.ops if not (op[0] == "buildings" and op[1]["estate_id"] == d["estate_id"])]
    out.ops.append(("buildings", {"estate_id": d["estate_id"], "buildings": buildings["list"],
                                  "expected": estate.get("updated_at"), "at": at}))


def _plan_unit(e: Entry, stored: dict[str, dict[str, Any]], out: Outcome, at: str) -> None:
    d = e.data
    estate = stored.get(f"estate:{d['estate_id']}")
    if estate is None:
        raise Refused("estate_national_id", "IMPORT_ESTATE_NOT_FOUND")
    if not any(b.get("building_id") == d["building_id"] for b in estate.get("buildings") or []):
        raise Refused("building_id", "IMPORT_BUILDING_NOT_FOUND")
    current = stored.get(f"unit:{e.key}")
    if current is not None and current.get("import_hash") == e.digest:
        out.unchanged += 1
        return
    place = {"area_id": estate["area_id"], "street_id": estate["street_id"]}
    from chalicelib.domain.units import UnitStatus

    if current is None and d["status"] not in (UnitStatus.VACANT, UnitStatus.UNDER_REPAIR):
        raise Refused("status", "IMPORT_BAD_VALUE", "新房源只能以空置或维修状态导入")
    if current is None:
        out.created += 1
        out.ops.append(("new_unit", {**d, **place, "import_hash": e.digest, "at": at}))
    else:
        if current.get("estate_id") != d["estate_id"]:
            raise Refused("estate_national_id", "IMPORT_BAD_VALUE", "房源已登记在另一个项目下，不能通过导入改动")
        out.updated += 1
        out.ops.append(("unit_change", {**d, **place, "status": current["status"], "old_layout": current["layout"],
                                        "version": current.get("version"),
                                        "import_hash": e.digest, "old_hash": current.get("import_hash"), "at": at}))


def _plan_household(e: Entry, stored: dict[str, dict[str, Any]], out: Outcome, at: str) -> None:
    d = e.data
    current = stored.get(f"household:{e.key}")
    if current is not None and current.get("import_hash") == e.digest:
        out.unchanged += 1
        return
    lease, unit, estate = d["lease"], None, None
    if lease is not None:
        unit = stored.get(f"unit:{lease['unit_id']}")
        if unit is None:
            raise Refused("unit_national_id", "IMPORT_UNIT_NOT_FOUND")
        estate = stored.get(f"estate:{unit['estate_id']}")
        old_lease = stored.get(f"lease:{lease['lease_id']}")
        from chalicelib.domain.units import UNITS, UnitStatus

        vacant = UNITS.parse(unit["status"]) is UnitStatus.VACANT
        if old_lease is None and (not vacant or stored.get(f"taken:{unit['unit_id']}")):
            raise Refused("unit_national_id", "IMPORT_UNIT_NOT_VACANT")
        main_key = next(m["person_key"] for m in d["members"] if m["relation"] == "self")
        if old_lease is not None and (old_lease["unit_id"] != unit["unit_id"] or old_lease["owner_key"] != main_key):
            raise Refused("lease_national_id", "IMPORT_LEASE_CHANGED")
        stored[f"taken:{unit['unit_id']}"] = {"by": e.key}
    write = {**d, "import_hash": e.digest, "old_hash": (current or {}).get("import_hash"), "unit": unit,
             "estate": estate, "at": at, "new_lease": lease is not None and stored.get(f"lease:{lease['lease_id']}") is None}
    if current is None:
        out.created += 1
        out.ops.append(("new_household", write))
    else:
        if current.get("owner") and current.get("main_key") != _main_key(d):
            raise Refused("relation", "IMPORT_LEASE_CHANGED", "该家庭已由承租人实名认领，不能通过导入更换承租人")
        out.updated += 1
        out.ops.append(("household_change", write))


def _main_key(d: dict[str, Any]) -> str:
    return str(next(m["person_key"] for m in d["members"] if m["relation"] == "self"))


def lease_of(d: dict[str, Any], at: str, import_id: str) -> Any:
    """The lease an imported household holds: confirmed, in billing's active index, no owner until the
    tenant registers and is verified (real-name), then theirs (``imports.claim``)."""
    from chalicelib.domain.idnumbers import mask_id
    from chalicelib.domain.leases import CONFIRMED, Lease, config

    lease, unit, estate = d["lease"], d["unit"], d["estate"] or {}
    main = next(m for m in d["members"] if m["relation"] == "self")
    building = next((b for b in estate.get("buildings") or [] if b.get("building_id") == unit["building_id"]), {})
    start, end = lease["start_date"], lease["end_date"]
    months = (int(end[:4]) - int(start[:4])) * 12 + int(end[5:7]) - int(start[5:7]) + (end[8:] >= start[8:])
    return Lease(
        lease_id=lease["lease_id"], round_id=f"import#{unit['estate_id']}", application_id=f"import#{d['household_id']}",
        owner=None, owner_key=main["person_key"], tenant_name=main["name"], tenant_id_masked=mask_id(main["id_number"]) or "",
        household_size=len(d["members"]), unit_id=unit["unit_id"], estate_id=unit["estate_id"],
        estate_name=str(estate.get("name") or unit["estate_id"]), address=str(estate.get("address") or ""),
        building_id=unit["building_id"], building_name=str(building.get("name") or unit["building_id"]),
        number=unit["number"], layout=unit["layout"], floor_area=float(unit["floor_area"]), base_rent=int(unit["rent"]),
        monthly_rent=int(lease["monthly_rent"]), reduction=None, deposit=int(lease["deposit"]),
        term_months=max(1, min(60, months)), start_date=start, end_date=end, manager=estate.get("manager") or None,
        landlord=config().landlord, clauses=list(config().clauses), status=CONFIRMED, confirmed_at=at,
        confirmed_device=f"import:{import_id}", created_at=at, updated_at=at)


def with_owner(lease: Any, owner: str | None) -> Any:
    return replace(lease, owner=owner)
