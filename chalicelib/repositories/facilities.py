"""Facilities, indexed by 0.1° latitude band and longitude: a <= 5 km circle is <= 2 range queries."""
from __future__ import annotations

from typing import Any

from chalicelib import errors
from chalicelib.config import Settings
from chalicelib.domain import geo
from chalicelib.domain.facilities import TYPE_NAMES, Facility, FacilityType, NearbyFacility
from chalicelib.repositories.common import put_new, save_versioned
from chalicelib.repositories.tables import FacilityRecord

NEARBY_KEEP = 30  # facilities an estate lists, nearest first

class FacilityRepository:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.city = settings.city_code

    def get(self, facility_id: str) -> Facility:
        try:
            return to_facility(FacilityRecord.get(facility_id))
        except FacilityRecord.DoesNotExist:
            raise errors.FacilityNotFound(facility_id) from None

    def near(self, lat: float, lng: float, radius_m: int, type_: FacilityType | None, limit: int) -> list[NearbyFacility]:
        dlng = geo.lng_delta(lat, radius_m)
        low, high = geo.lng_key(lng - dlng), geo.lng_key(lng + dlng, "~")
        found: list[NearbyFacility] = []
        for band in geo.bands_for(lat, radius_m):
            if type_ is not None:
                index, hash_key = FacilityRecord.by_type_band, f"{type_.value}#{band}"
            else:
                index, hash_key = FacilityRecord.by_band, band
            for r in index.query(hash_key, FacilityRecord.lng_key.between(low, high)):
                d = geo.distance_m(lat, lng, float(r.lat), float(r.lng))
                if d <= radius_m:
                    found.append(NearbyFacility(to_facility(r), round(d)))
        found.sort(key=lambda n: (n.distance_m, n.facility.facility_id))
        return found[:limit]

    def nearest(self, lat: float, lng: float) -> list[dict[str, Any]]:
        """The precomputed list an estate keeps (all types within the nearby radius)."""
        near = self.near(lat, lng, self.settings.nearby_radius_m, None, NEARBY_KEEP)
        return [
            {"facility_id": n.facility.facility_id, "type": n.facility.type.value,
             "type_name": TYPE_NAMES[n.facility.type], "name": n.facility.name, "distance_m": n.distance_m}
            for n in near
        ]

    def create(self, facility: Facility) -> Facility:
        record = to_record(facility, self.city)
        put_new(record, FacilityRecord.facility_id.does_not_exist(), errors.AlreadyExists(facility.facility_id, field="facility_id"))
        return to_facility(record)

    def save(self, current: Facility, updated: Facility) -> Facility:
        record = to_record(updated, self.city)
        record.version = current.version
        save_versioned(record)  # only if still at current.version
        return to_facility(record)

def to_record(f: Facility, city: str) -> FacilityRecord:
    band = geo.band(f.lat)
    record = FacilityRecord(
        f.facility_id, city=city, type=f.type.value, name=f.name, lat=f.lat, lng=f.lng, address=f.address,
        band=band, type_band=f"{f.type.value}#{band}", lng_key=geo.lng_key(f.lng, f.facility_id),
        created_at=f.created_at, updated_at=f.updated_at,
    )
    if f.version:  # a new record has none yet: PynamoDB sets 1 on first save
        record.version = f.version
    return record

def to_facility(r: FacilityRecord) -> Facility:
    return Facility(r.facility_id, FacilityType(r.type), r.name, float(r.lat), float(r.lng), r.address,
                    int(r.version or 0), r.created_at, r.updated_at)

