"""DynamoDB tables as PynamoDB models: the one definition the app, the local stack and infra/ use.

Each city runs its own stack, so no key carries the city; ``city`` appears only as the constant
partition of the few small, city-wide indexes (areas, estates on the map). Key choices are
explained in docs/decisions/0003-table-keys.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.config import Settings


class _Table(Model):
    """Base: table name, region and endpoint are bound from settings before first use."""

    logical_name = ""

    class Meta:
        abstract = True
        table_name = "unbound"
        billing_mode = "PAY_PER_REQUEST"


def _gsi(name: str, hash_attr: str, range_attr: str, projection: Any = None) -> type[GlobalSecondaryIndex]:
    meta = type("Meta", (), {"index_name": name, "projection": projection or AllProjection()})
    attrs = {
        "Meta": meta,
        hash_attr: UnicodeAttribute(hash_key=True),
        range_attr: UnicodeAttribute(range_key=True),
    }
    return type(f"Index_{name}", (GlobalSecondaryIndex,), attrs)


# --- areas (片区) and their streets (街道): one small partition per city --------------------------
class AreaRecord(_Table):
    logical_name = "areas"
    city = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute(range_key=True)  # "A#{area}" or "S#{street}"
    kind = UnicodeAttribute()  # area | street
    area_id = UnicodeAttribute()
    street_id = UnicodeAttribute(null=True)
    name = UnicodeAttribute()
    district = UnicodeAttribute(null=True)  # 行政区, e.g. 蓬江区
    units_total = NumberAttribute(default=0)
    units_vacant = NumberAttribute(default=0)


# --- estates (项目/小区) ---------------------------------------------------------------------
class EstateRecord(_Table):
    logical_name = "estates"
    estate_id = UnicodeAttribute(hash_key=True)
    city = UnicodeAttribute()
    name = UnicodeAttribute()
    area_id = UnicodeAttribute()
    street_id = UnicodeAttribute()
    address = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    description = UnicodeAttribute(null=True)
    manager = MapAttribute(null=True)  # property manager: company, contact, phone, office
    buildings = ListAttribute(of=MapAttribute, default=list)
    unit_mix = MapAttribute(default=dict)  # layout -> {"total": n, "vacant": n}
    units_total = NumberAttribute(default=0)
    units_vacant = NumberAttribute(default=0)
    nearby = ListAttribute(of=MapAttribute, default=list)  # facilities within reach, nearest first
    photos = ListAttribute(default=list)
    list_key = UnicodeAttribute()  # "{area}#{street}#{estate}"
    lng_key = UnicodeAttribute()  # sortable longitude, for the map's bounding-box query
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    # Checked by hand on descriptive edits only: unit writes move the counters above concurrently
    # and must not make an admin's edit stale (PynamoDB's VersionAttribute bumps on every update).
    version = NumberAttribute(default=0)

    by_city = _gsi("by_city", "city", "list_key")()
    by_area = _gsi("by_area", "area_id", "list_key")()
    by_street = _gsi("by_street", "street_id", "list_key")()
    by_lng = _gsi(
        "by_lng",
        "city",
        "lng_key",
        IncludeProjection(["name", "lat", "lng", "area_id", "street_id", "units_total", "units_vacant", "address"]),
    )()


# --- units (房源) ------------------------------------------------------------------------------
class UnitRecord(_Table):
    """A unit. Every search index sorts by ``search_key`` = "{status}#{rent:09d}#{unit_id}", so a
    status (and rent ceiling) narrows the key range and results come cheapest first."""

    logical_name = "units"
    unit_id = UnicodeAttribute(hash_key=True)
    city = UnicodeAttribute()
    estate_id = UnicodeAttribute()
    building_id = UnicodeAttribute()
    area_id = UnicodeAttribute()
    street_id = UnicodeAttribute()
    number = UnicodeAttribute()  # 房号, e.g. 1203
    layout = UnicodeAttribute()
    floor_area = NumberAttribute()  # m², 2 decimals
    floor = NumberAttribute()
    rent = NumberAttribute()  # fen per month
    status = UnicodeAttribute()
    orientation = UnicodeAttribute(null=True)
    photos = ListAttribute(default=list)
    area_layout = UnicodeAttribute()  # "{area}#{layout}"
    search_key = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_area_layout = _gsi("by_area_layout", "area_layout", "search_key")()
    by_area = _gsi("by_area", "area_id", "search_key")()
    by_layout = _gsi("by_layout", "layout", "search_key")()
    by_estate = _gsi("by_estate", "estate_id", "search_key")()
    by_city = _gsi("by_city", "city", "search_key")()


class UnitHistoryRecord(_Table):
    """Status changes of a unit, oldest first."""

    logical_name = "unit_history"
    unit_id = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute(range_key=True)  # "{iso time}#{random}"
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute()
    actor = UnicodeAttribute()
    actor_role = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)


# --- facilities (配套) -------------------------------------------------------------------------
class FacilityRecord(_Table):
    """Bus/metro stops, schools, shops, hospitals, parks. Indexed by 0.1° latitude band and
    longitude, so a search radius of up to 5 km is at most two key-range queries."""

    logical_name = "facilities"
    facility_id = UnicodeAttribute(hash_key=True)
    city = UnicodeAttribute()
    type = UnicodeAttribute()
    name = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    address = UnicodeAttribute(null=True)
    band = UnicodeAttribute()
    type_band = UnicodeAttribute()
    lng_key = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_band = _gsi("by_band", "band", "lng_key")()
    by_type_band = _gsi("by_type_band", "type_band", "lng_key")()


# --- policy documents (政策文件) -----------------------------------------------------------------
class PolicyRecord(_Table):
    logical_name = "policies"
    policy_id = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    summary = UnicodeAttribute(null=True)
    body = UnicodeAttribute()
    category = UnicodeAttribute()
    issuer = UnicodeAttribute(null=True)  # 发文机关
    doc_number = UnicodeAttribute(null=True)  # 文号
    attachments = ListAttribute(of=MapAttribute, default=list)
    status = UnicodeAttribute()  # draft | published | withdrawn
    published_at = UnicodeAttribute(null=True)
    sort_key = UnicodeAttribute()  # "{published_at or created_at}#{policy_id}"
    category_status = UnicodeAttribute()  # "{category}#{status}"
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_status = _gsi("by_status", "status", "sort_key")()
    by_category = _gsi("by_category", "category_status", "sort_key")()


# --- idempotency (Powertools' DynamoDB persistence layer owns the items) -----------------------
class IdempotencyRecord(_Table):
    """Declared here only so infra/ and the local stack create the table Powertools writes to."""

    logical_name = "idempotency"
    id = UnicodeAttribute(hash_key=True)
    expiration = TTLAttribute(null=True)


MODELS: tuple[type[_Table], ...] = (
    AreaRecord,
    EstateRecord,
    UnitRecord,
    UnitHistoryRecord,
    FacilityRecord,
    PolicyRecord,
    IdempotencyRecord,
)

_bound_to: tuple[Any, ...] | None = None


def bind(settings: Settings) -> None:
    """Point every model at this stack's tables (idempotent; rebinding resets connections)."""
    global _bound_to
    target = (settings.region, settings.endpoint_url, tuple(sorted(settings.table_names.items())))
    if _bound_to == target:
        return
    for model in MODELS:
        # Each model gets a Meta of its own (subclasses would otherwise share the base's).
        model.Meta = type("Meta", (model.Meta,), {  # type: ignore[misc]
            "table_name": settings.table(model.logical_name),
            "region": settings.region,
            "host": settings.endpoint_url,
        })
        model._connection = None
        for index in model._indexes.values():
            index._connection = None  # type: ignore[attr-defined]
    _bound_to = target


@dataclass(frozen=True)
class TableSpec:
    """A table as infra/ and the local stack create it, derived from the model."""

    logical_name: str
    hash_key: tuple[str, str]
    range_key: tuple[str, str] | None
    indexes: tuple[dict[str, Any], ...]  # {name, hash: (attr, type), range: (attr, type)|None, projection}
    ttl_attribute: str | None = None  # items expire by this epoch-seconds attribute


def table_specs() -> list[TableSpec]:
    specs = []
    for model in MODELS:
        schema = model._get_schema()
        types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}

        def keys(key_schema: list[dict[str, str]]) -> tuple[tuple[str, str], tuple[str, str] | None]:
            h = next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")
            r = next((k["AttributeName"] for k in key_schema if k["KeyType"] == "RANGE"), None)
            return (h, types[h]), ((r, types[r]) if r else None)

        h, r = keys(schema["key_schema"])
        indexes = []
        for gsi in schema.get("global_secondary_indexes", []):
            ih, ir = keys(gsi["key_schema"])
            proj = gsi["projection"]
            indexes.append(
                {
                    "name": gsi["index_name"],
                    "hash": ih,
                    "range": ir,
                    "projection": proj["ProjectionType"],
                    "non_key_attributes": tuple(proj.get("NonKeyAttributes", ())),
                }
            )
        ttl = model._ttl_attribute()
        specs.append(TableSpec(model.logical_name, h, r, tuple(indexes), ttl.attr_name if ttl else None))
    return specs
